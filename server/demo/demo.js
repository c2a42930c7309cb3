// The movierec demo page: calls the server's HTTP/JSON API (docs/api.md) on
// the same origin and shows what it answers. No framework, no build step.
//
// The page's state lives in the URL so that a link shows the same lists:
//   ?user=138              a MovieLens user's recommendations
//   ?movies=1,50,100       a visitor's, folded in from movies they like
//   &genre=Drama&from=1990&to=1999   the filters
//   &similar=50            the movies similar to movie 50
// body[data-busy] counts the calls in flight, for the browser test.
"use strict";

const state = {user: "", movies: [], genre: "", from: 0, to: 0, similar: ""};
// Titles of the movies the page has seen, by id (for chips and headings).
const titles = new Map();
let pending = 0;
// Each list keeps only the answer to its newest request.
const latest = {results: 0, similar: 0, search: 0};

const $ = (id) => document.getElementById(id);

// POSTs `body` to `path`; the parsed answer, or throws an Error with the
// server's message (the API's {"code", "message"} body).
async function api(path, body) {
  pending++;
  document.body.dataset.busy = String(pending);
  try {
    const response = await fetch(path, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    let json = {};
    try {
      json = await response.json();
    } catch (e) {
      // Not JSON: the status says enough.
    }
    if (!response.ok) {
      const error = new Error(json.message || `HTTP ${response.status}`);
      error.code = json.code || String(response.status);
      throw error;
    }
    return json;
  } finally {
    pending--;
    document.body.dataset.busy = String(pending);
  }
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) {
    node.append(child);
  }
  return node;
}

function say(text, kind = "") {
  const message = $("message");
  message.textContent = text;
  message.className = `message ${kind}`;
}

// ---- URL state ----

function readUrl() {
  const query = new URLSearchParams(location.search);
  state.user = (query.get("user") || "").trim();
  state.movies = (query.get("movies") || "")
      .split(",").map((id) => id.trim()).filter((id) => id !== "");
  state.genre = query.get("genre") || "";
  state.from = parseInt(query.get("from") || "0", 10) || 0;
  state.to = parseInt(query.get("to") || "0", 10) || 0;
  state.similar = (query.get("similar") || "").trim();
}

function writeUrl() {
  const enc = encodeURIComponent;
  const parts = [];
  if (state.user) {
    parts.push(`user=${enc(state.user)}`);
  } else if (state.movies.length > 0) {
    parts.push(`movies=${state.movies.map(enc).join(",")}`);
  }
  if (state.genre) parts.push(`genre=${enc(state.genre)}`);
  if (state.from) parts.push(`from=${state.from}`);
  if (state.to) parts.push(`to=${state.to}`);
  if (state.similar) parts.push(`similar=${enc(state.similar)}`);
  const search = parts.length > 0 ? `?${parts.join("&")}` : "";
  history.replaceState(null, "", location.pathname + search);
}

function filter() {
  const f = {};
  if (state.genre) f.genres = [state.genre];
  if (state.from) f.minReleaseYear = state.from;
  if (state.to) f.maxReleaseYear = state.to;
  return f;
}

// ---- Lists of movies ----

function fixed(value, digits) {
  return (value || 0).toFixed(digits);
}

function movieRow(movie, rank, scores, onClick) {
  titles.set(movie.movieId, movie.title);
  const genres = (movie.genres || []).map(
      (name) => el("span", {className: "genre", textContent: name}));
  const row = el("tr", {className: "movie"}, [
    el("td", {className: "rank", textContent: String(rank)}),
    el("td", {}, [el("span", {className: "title", textContent: movie.title})]),
    el("td", {className: "num year", textContent: movie.releaseYear || "–"}),
    el("td", {className: "genres"}, genres),
    ...scores.map((text) => el("td", {className: "num score", textContent: text})),
  ]);
  row.dataset.movieId = movie.movieId;
  row.tabIndex = 0;
  row.addEventListener("click", () => onClick(movie.movieId));
  row.addEventListener("keydown", (event) => {
    if (event.key === "Enter") onClick(movie.movieId);
  });
  return row;
}

function showVersion(version) {
  if (version) $("model-version").textContent = version;
}

function markSelected() {
  for (const row of document.querySelectorAll("#results tbody tr")) {
    row.classList.toggle("selected", row.dataset.movieId === state.similar);
  }
}

async function refresh() {
  const request = {filter: filter()};
  let heading;
  let path = "/v1/recommend";
  if (state.user) {
    request.userId = state.user;
    heading = `Recommendations for user ${state.user}`;
  } else if (state.movies.length > 0) {
    request.recentMovieIds = state.movies;
    const n = state.movies.length;
    heading = `Recommendations for a visitor who likes ${n} movie${n === 1 ? "" : "s"}`;
  } else {
    // Nobody chosen yet: the catalogue's most rated movies (a Recommend
    // request needs a user or movies; the filters do not apply here).
    heading = "The most rated movies";
    path = "/v1/search-movies";
    delete request.filter;
  }
  const seq = ++latest.results;
  const body = $("results").tBodies[0];
  let response;
  try {
    response = await api(path, request);
  } catch (error) {
    if (seq !== latest.results) return;
    body.replaceChildren();
    say(error.message, "error");
    document.body.dataset.state = "error";
    return;
  }
  if (seq !== latest.results) return;
  showVersion(response.modelVersion);
  const movies = response.movies || [];
  $("results-heading").textContent = heading;
  const popular = response.fallback || path !== "/v1/recommend";
  body.replaceChildren(...movies.map((movie, i) => movieRow(
      movie, i + 1,
      popular ? [String(Math.round(movie.score || 0)), "–"]
              : [fixed(movie.score, 3), fixed(movie.retrievalScore, 3)],
      showSimilar)));
  markSelected();
  if (state.user && response.fallback) {
    say(`User ${state.user} is not known to model version ` +
        `${response.modelVersion}: these are the most popular movies ` +
        "instead (ranking score: ratings in training).", "notice");
  } else if (!state.user && state.movies.length === 0) {
    say("Choose a user id, or search and pick a few movies you like: " +
        "their recommendations appear here, filtered. Until then, the " +
        "most rated movies (ranking score: ratings in training).");
  } else if (movies.length < 10) {
    say(movies.length === 0 ? "No movie passes the filters." :
        `Only ${movies.length} movies pass the filters.`, "notice");
  } else {
    say("");
  }
  document.body.dataset.state = "ready";
}

async function showSimilar(movieId) {
  state.similar = movieId;
  writeUrl();
  markSelected();
  const card = $("similar-card");
  const body = $("similar").tBodies[0];
  card.hidden = false;
  $("similar-title").textContent = titles.get(movieId) || `movie ${movieId}`;
  const seq = ++latest.similar;
  if (!titles.has(movieId)) {
    // A link's movie that no list has shown: its title from the catalogue.
    api("/v1/search-movies", {movieIds: [movieId]}).then((found) => {
      const movie = (found.movies || [])[0];
      if (movie && seq === latest.similar) {
        titles.set(movie.movieId, movie.title);
        $("similar-title").textContent = movie.title;
      }
    }, () => {});  // an unknown id: the list below says so
  }
  let response;
  try {
    response = await api("/v1/similar-movies",
                         {movieId: movieId, filter: filter()});
  } catch (error) {
    if (seq !== latest.similar) return;
    body.replaceChildren(el("tr", {}, [el("td", {
      colSpan: 5, className: "error", textContent: error.message})]));
    return;
  }
  if (seq !== latest.similar) return;
  showVersion(response.modelVersion);
  body.replaceChildren(...(response.movies || []).map((movie, i) => movieRow(
      movie, i + 1, [fixed(movie.score, 3)], showSimilar)));
}

function refreshAll() {
  writeUrl();
  refresh();
  if (state.similar) showSimilar(state.similar);
}

// ---- Choosing who ----

function showUser(event) {
  event.preventDefault();
  const user = $("user").value.trim();
  if (!/^[0-9]+$/.test(user)) {
    say(user === "" ? "Enter a user id, e.g. 138." :
        `"${user}" is not a user id: MovieLens user ids are numbers, e.g. 138.`,
        "error");
    return;
  }
  state.user = user;
  state.movies = [];
  renderPicked();
  refreshAll();
}

function renderPicked() {
  $("picked-count").textContent = String(state.movies.length);
  $("picked").replaceChildren(...state.movies.map((id) => {
    const remove = el("button", {
      type: "button", textContent: "×", title: "remove",
      ariaLabel: `remove ${titles.get(id) || id}`});
    remove.addEventListener("click", () => togglePick(id));
    const chip = el("li", {}, [titles.get(id) || `movie ${id}`, remove]);
    chip.dataset.movieId = id;
    return chip;
  }));
  for (const button of document.querySelectorAll("#search-results button")) {
    button.setAttribute("aria-pressed",
                        String(state.movies.includes(button.dataset.movieId)));
  }
}

function togglePick(movieId) {
  const at = state.movies.indexOf(movieId);
  if (at >= 0) {
    state.movies.splice(at, 1);
  } else {
    state.movies.push(movieId);
  }
  state.user = "";
  $("user").value = "";
  renderPicked();
  refreshAll();
}

async function search(query, count) {
  const hint = $("search-message");
  const list = $("search-results");
  query = query.trim();
  const seq = ++latest.search;
  if (query === "") {
    list.replaceChildren();
    hint.textContent = count ? "Type part of a title to search the catalogue." : "";
    return;
  }
  let response;
  try {
    response = await api("/v1/search-movies", {query: query, count: 8});
  } catch (error) {
    if (seq !== latest.search) return;
    list.replaceChildren();
    hint.textContent = error.message;
    return;
  }
  if (seq !== latest.search) return;
  const movies = response.movies || [];
  list.replaceChildren(...movies.map((movie) => {
    titles.set(movie.movieId, movie.title);
    const button = el("button", {type: "button", textContent: movie.title});
    button.dataset.movieId = movie.movieId;
    button.setAttribute("aria-pressed", String(state.movies.includes(movie.movieId)));
    button.addEventListener("click", () => togglePick(movie.movieId));
    return el("li", {}, [button]);
  }));
  const total = response.totalMatches || 0;
  hint.textContent = total === 0 ? `No title contains "${query}".` :
      total > movies.length ? `${movies.length} of ${total} matches: type more to narrow.` :
      "Click the movies you like.";
}

// ---- Start ----

async function start() {
  readUrl();
  $("user").value = state.user;
  $("from").value = state.from || "";
  $("to").value = state.to || "";
  try {
    // The catalogue's genres and version.
    const catalogue = await api("/v1/search-movies", {count: 1});
    const select = $("genre");
    for (const genre of catalogue.catalogueGenres || []) {
      select.append(el("option", {value: genre, textContent: genre}));
    }
    select.value = state.genre;
    showVersion(catalogue.modelVersion);
    // The titles of a link's movies (an unknown id: the lists say so).
    if (state.movies.length > 0) {
      const linked = await api("/v1/search-movies",
                               {movieIds: state.movies, count: 100});
      for (const movie of linked.movies || []) titles.set(movie.movieId, movie.title);
    }
  } catch (error) {
    say(error.message, "error");
  }
  renderPicked();

  $("user-form").addEventListener("submit", showUser);
  let typing = 0;
  $("search").addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => search($("search").value, 0), 200);
  });
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    search($("search").value, 1);
  });
  $("genre").addEventListener("change", () => {
    state.genre = $("genre").value;
    refreshAll();
  });
  let editing = 0;
  for (const id of ["from", "to"]) {
    $(id).addEventListener("input", () => {
      clearTimeout(editing);
      editing = setTimeout(() => {
        state.from = parseInt($("from").value || "0", 10) || 0;
        state.to = parseInt($("to").value || "0", 10) || 0;
        refreshAll();
      }, 300);
    });
  }
  $("filters").addEventListener("submit", (event) => event.preventDefault());
  // A link's lists; the empty state shows the most popular movies.
  refreshAll();
}

document.body.dataset.busy = "0";
start();
