"""Makes docs/demo.png, the screenshot of the demo page that the README and
docs/api.md show:

    /usr/bin/python3 tests/client/demo_screenshot.py [--bin_dir build/bin] \\
        [--out docs/demo.png]

It trains a model on a synthetic data set with made-up titles
(tests/live_server.py; never MovieLens: its data and anything derived from
it must not be committed), starts movierec-server on it, opens the page for
user 138 with the movies similar to the first recommendation in Debian's
headless Chromium (tests/headless_chromium.py) and saves what it shows.
"""

import argparse
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import headless_chromium  # noqa: E402
import live_server  # noqa: E402

SOURCE_DIR = os.path.normpath(os.path.join(HERE, "..", ".."))

ADJECTIVES = ["Silent", "Crimson", "Last", "Hidden", "Electric", "Northern",
              "Paper", "Broken", "Golden", "Midnight", "Winter", "Lost"]
NOUNS = ["Harbor", "Orchard", "Signal", "Garden", "Frontier", "Lantern",
         "River", "Machine", "Letter", "Kingdom", "Tide", "Compass"]


def made_up_title(movie):
    """A distinct invented title for each movie id below 144."""
    adjective = ADJECTIVES[movie % 12]
    noun = NOUNS[(movie + movie // 12) % 12]
    return f"{adjective} {noun}" if movie % 3 == 0 else \
        f"The {adjective} {noun}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin_dir", default=os.path.join(SOURCE_DIR, "build",
                                                          "bin"))
    parser.add_argument("--out", default=os.path.join(SOURCE_DIR, "docs",
                                                      "demo.png"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="movierec-screenshot-") as root:
        data_dir = os.path.join(root, "data")
        model_base = os.path.join(root, "models")
        os.makedirs(model_base)
        live_server.make_movielens(data_dir, title=made_up_title)
        live_server.train(os.path.join(args.bin_dir, "movierec-train"),
                          data_dir, model_base)
        with live_server.LiveServer(
                os.path.join(args.bin_dir, "movierec-server"),
                model_base) as server, \
                headless_chromium.Chromium(width=1280, height=820) as browser:
            base = f"http://127.0.0.1:{server.http_port}/"
            settled = ("document.body.dataset.busy === '0' && "
                       "document.body.dataset.state === 'ready'")
            browser.navigate(base + "?user=138")
            browser.wait_for(settled)
            first = browser.evaluate(
                "document.querySelector('#results tbody tr').dataset.movieId")
            browser.navigate(f"{base}?user=138&similar={first}")
            browser.wait_for(settled + " && document.querySelectorAll("
                             "'#similar tbody tr').length === 10")
            browser.screenshot(args.out, full_page=True)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
