"""The demo page (GET / on the HTTP port, server/demo/) in a real browser:
Debian's headless Chromium, driven through the DevTools Protocol
(tests/headless_chromium.py), against a live movierec-server on a model
trained on synthetic data (tests/live_server.py; no real data needed).

It asserts what a person sees: ten movies for user 138, ten for a visitor
who searched and picked three movies, similar movies on a click, the genre
and year filters applied live, the state in a shareable URL, and a clear
message for each bad input. It also takes a screenshot of the page
($MOVIEREC_SCREENSHOT_DIR, default: a temporary directory).
"""

import json
import os
import re
import sys
import tempfile
import unittest
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import headless_chromium  # noqa: E402
import live_server  # noqa: E402

SOURCE_DIR = os.environ.get("MOVIEREC_SOURCE_DIR",
                            os.path.normpath(os.path.join(HERE, "..", "..")))
BIN_DIR = os.environ.get("MOVIEREC_BIN_DIR",
                         os.path.join(SOURCE_DIR, "build", "bin"))

ROWS = "#results tbody tr"
# The page has settled: no call in flight and a list shown.
SETTLED = ("document.body.dataset.busy === '0' && "
           "document.body.dataset.state !== 'loading'")


class DemoPageTest(live_server.TrainedServerTestCase):
    bin_dir = BIN_DIR

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.browser = headless_chromium.Chromium().__enter__()
        except Exception:
            super().tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browser.__exit__(None, None, None)
        super().tearDownClass()

    def setUp(self):
        self.browser.exceptions.clear()
        self.browser.console_errors.clear()

    def tearDown(self):
        self.assertEqual(self.browser.exceptions, [],
                         "uncaught exceptions in the page")

    # ---- helpers ----

    def url(self, query=""):
        return f"http://127.0.0.1:{self.server.http_port}/{query}"

    def open(self, query=""):
        self.browser.navigate(self.url(query))
        self.settle()

    def settle(self):
        self.browser.wait_for(SETTLED)

    def js(self, expression):
        return self.browser.evaluate(expression)

    def rows(self, table="results"):
        """Each shown movie as {id, title, year, genres, scores}."""
        return self.js(f"""[...document.querySelectorAll(
            '#{table} tbody tr.movie')].map((row) => ({{
              id: row.dataset.movieId,
              title: row.querySelector('.title').textContent,
              year: row.querySelector('.year').textContent,
              genres: [...row.querySelectorAll('.genre')].map(
                  (g) => g.textContent),
              scores: [...row.querySelectorAll('.score')].map(
                  (s) => s.textContent)}}))""")

    def query(self):
        """The page's URL query, decoded."""
        return dict(urllib.parse.parse_qsl(
            urllib.parse.urlsplit(self.js("location.href")).query))

    def message(self):
        return self.js("[document.getElementById('message').className, "
                       "document.getElementById('message').textContent]")

    def api_recommend(self, request):
        """POST /v1/recommend from here, not from the page."""
        answer = urllib.request.urlopen(urllib.request.Request(
            self.url("v1/recommend"), data=json.dumps(request).encode(),
            headers={"Content-Type": "application/json"}), timeout=10)
        with answer:
            return json.load(answer)

    def set_value(self, selector, value, event):
        """Sets a form control as a person would, then fires `event`."""
        self.js(f"""(() => {{
            const e = document.querySelector({json.dumps(selector)});
            e.value = {json.dumps(value)};
            e.dispatchEvent(new Event({json.dumps(event)}, {{bubbles: true}}));
        }})()""")

    def assert_ten_movies(self):
        rows = self.rows()
        self.assertEqual(len(rows), 10, rows)
        for row in rows:
            self.assertRegex(row["title"], r"^Movie \d+ \(\d{4}\)$")
            self.assertRegex(row["year"], r"^\d{4}$")
            self.assertTrue(row["genres"], row)
            self.assertEqual(len(row["scores"]), 2)
            for score in row["scores"]:
                float(score)
        self.assertEqual(len({row["id"] for row in rows}), 10)
        self.assertEqual(self.js("document.getElementById("
                                 "'model-version').textContent"), "1")
        return rows

    # ---- tests ----

    def test_user_138_sees_ten_movies(self):
        self.open("?user=138")
        rows = self.assert_ten_movies()
        self.assertEqual(self.js("document.getElementById("
                                 "'results-heading').textContent"),
                         "Recommendations for user 138")
        self.assertEqual(self.message()[1], "")
        self.assertEqual(self.js("document.getElementById('user').value"),
                         "138")
        # Exactly what the API answers, in its order.
        self.assertEqual([row["id"] for row in rows],
                         [m["movieId"] for m in self.api_recommend(
                             {"userId": "138"})["movies"]])
        # The user form gives the same list.
        self.open()
        self.browser.type_text("#user", "138")
        self.browser.click("#show-user")
        self.browser.wait_for("new URLSearchParams(location.search)"
                              ".get('user') === '138'")
        self.settle()
        self.assertEqual([r["id"] for r in self.rows()],
                         [r["id"] for r in rows])

        directory = os.environ.get("MOVIEREC_SCREENSHOT_DIR") or \
            tempfile.mkdtemp(prefix="movierec-demo-")
        path = self.browser.screenshot(os.path.join(directory, "demo.png"))
        with open(path, "rb") as f:
            png = f.read()
        self.assertTrue(png.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertGreater(len(png), 20000)
        print(f"screenshot: {path}", file=sys.stderr)

    def test_visitor_who_picked_three_movies_sees_ten(self):
        self.open()
        # With nobody chosen: the most rated movies and a hint.
        self.assertEqual(len(self.rows()), 10)
        self.assertEqual(self.js("document.getElementById("
                                 "'results-heading').textContent"),
                         "The most rated movies")
        self.assertIn("Choose a user id", self.message()[1])
        self.browser.type_text("#search", "movie 1")
        self.browser.wait_for("document.querySelectorAll("
                              "'#search-results button').length >= 3")
        picked = []
        for index in range(3):
            picked.append(self.js(f"document.querySelectorAll('#search-"
                                  f"results button')[{index}].dataset."
                                  "movieId"))
            self.browser.click("#search-results button", index)
            self.browser.wait_for(f"document.querySelectorAll('#picked li')"
                                  f".length === {index + 1}")
        self.settle()
        rows = self.assert_ten_movies()
        self.assertEqual(self.query(), {"movies": ",".join(picked)})
        self.assertIn(f"movies={','.join(picked)}", self.js("location.href"))
        self.assertEqual(self.js("document.getElementById("
                                 "'results-heading').textContent"),
                         "Recommendations for a visitor who likes 3 movies")
        self.assertFalse({row["id"] for row in rows} & set(picked))
        self.assertEqual([row["id"] for row in rows],
                         [m["movieId"] for m in self.api_recommend(
                             {"recentMovieIds": picked})["movies"]])
        self.assertEqual(self.js("[...document.querySelectorAll('#search-"
                                 "results button[aria-pressed=true]')]"
                                 ".length"), 3)

        # The link shows the same list, the picked movies by title.
        self.open(f"?movies={','.join(picked)}")
        self.assertEqual([r["id"] for r in self.rows()],
                         [r["id"] for r in rows])
        chips = self.js("[...document.querySelectorAll('#picked li')]"
                        ".map((li) => li.firstChild.textContent)")
        self.assertEqual(len(chips), 3)
        for chip in chips:
            self.assertRegex(chip, r"^Movie \d+ \(\d{4}\)$")
        # Removing one recommends from the other two.
        self.browser.click("#picked li button", 0)
        self.browser.wait_for("document.querySelectorAll('#picked li')"
                              ".length === 2")
        self.settle()
        self.assertEqual(self.query(), {"movies": ",".join(picked[1:])})
        self.assertEqual(len(self.rows()), 10)

    def test_a_click_shows_similar_movies(self):
        self.open("?user=138")
        first = self.rows()[0]
        self.browser.click(ROWS, 0)
        self.browser.wait_for("!document.getElementById('similar-card')"
                              ".hidden && document.querySelectorAll("
                              "'#similar tbody tr.movie').length === 10")
        self.settle()
        similar = self.rows("similar")
        self.assertNotIn(first["id"], [m["id"] for m in similar])
        self.assertEqual(self.js("document.getElementById("
                                 "'similar-title').textContent"),
                         first["title"])
        self.assertEqual(self.query(), {"user": "138",
                                        "similar": first["id"]})
        similarities = [float(m["scores"][0]) for m in similar]
        self.assertEqual(similarities, sorted(similarities, reverse=True))
        # The link opens the same panel.
        self.open(f"?user=138&similar={first['id']}")
        self.browser.wait_for("document.querySelectorAll("
                              "'#similar tbody tr.movie').length === 10")
        self.assertEqual([m["id"] for m in self.rows("similar")],
                         [m["id"] for m in similar])

    def test_filters_apply_live(self):
        self.open("?user=138")
        genres = self.js("[...document.querySelectorAll('#genre option')]"
                         ".map((o) => o.value)")
        self.assertEqual(genres, [""] + live_server.GENRES)
        self.set_value("#genre", "Action", "change")
        self.browser.wait_for("new URLSearchParams(location.search)"
                              ".get('genre') === 'Action'")
        self.settle()
        rows = self.rows()
        self.assertTrue(rows)
        for row in rows:
            self.assertIn("Action", row["genres"])
        self.assertEqual(self.query(), {"user": "138", "genre": "Action"})

        self.set_value("#from", "1960", "input")
        self.set_value("#to", "1979", "input")
        self.browser.wait_for("new URLSearchParams(location.search)"
                              ".get('to') === '1979'")
        self.settle()
        rows = self.rows()
        for row in rows:
            self.assertIn("Action", row["genres"])
            self.assertTrue(1960 <= int(row["year"]) <= 1979, row)
        if len(rows) < 10:
            self.assertIn(f"Only {len(rows)} movies pass the filters",
                          self.message()[1])
        # A bad range: the server's message, shown as an error.
        self.set_value("#from", "1990", "input")
        self.browser.wait_for("new URLSearchParams(location.search)"
                              ".get('from') === '1990'")
        self.settle()
        kind, text = self.message()
        self.assertIn("error", kind)
        self.assertIn("min_release_year 1990 is after max_release_year 1979",
                      text)
        self.assertEqual(self.rows(), [])

    def test_bad_input_gives_clear_messages(self):
        self.open()
        # An unknown user: the popular movies, and the page says so.
        self.browser.type_text("#user", "99999")
        self.browser.click("#show-user")
        self.browser.wait_for("new URLSearchParams(location.search)"
                              ".get('user') === '99999'")
        self.settle()
        kind, text = self.message()
        self.assertIn("notice", kind)
        self.assertIn("User 99999 is not known to model version 1", text)
        self.assertEqual(len(self.rows()), 10)
        # Not a number.
        self.set_value("#user", "abc", "input")
        self.browser.click("#show-user")
        self.browser.wait_for("document.getElementById('message')"
                              ".textContent.includes('is not a user id')")
        kind, text = self.message()
        self.assertIn("error", kind)
        self.assertIn('"abc" is not a user id', text)
        self.assertEqual(self.query(), {"user": "99999"})
        # An empty search, and one that finds nothing.
        self.browser.click("#search-button")
        self.browser.wait_for("document.getElementById('search-message')"
                              ".textContent.includes('Type part of a "
                              "title')")
        self.browser.type_text("#search", "no such film")
        self.browser.wait_for("document.getElementById('search-message')"
                              ".textContent === 'No title contains "
                              "\"no such film\".'")
        self.assertEqual(self.js("document.querySelectorAll("
                                 "'#search-results li').length"), 0)
        # A link with a movie the catalogue does not have.
        self.open("?movies=1,999999")
        kind, text = self.message()
        self.assertIn("error", kind)
        self.assertRegex(text, r"999999.*(not|no such)|not.*999999")
        self.assertEqual(self.rows(), [])

    def test_the_page_loads_nothing_from_elsewhere(self):
        self.open("?user=138")
        origin = f"http://127.0.0.1:{self.server.http_port}"
        resources = self.js("performance.getEntriesByType('resource')"
                            ".map((r) => r.name)")
        self.assertTrue(resources)
        for resource in resources:
            self.assertTrue(resource.startswith(origin + "/"), resource)
        self.assertTrue(re.search(r"default-src 'self'", self.js(
            "fetch('/').then((r) => r.headers.get("
            "'Content-Security-Policy'))")))
        self.assertEqual(self.browser.console_errors, [])


if __name__ == "__main__":
    unittest.main()
