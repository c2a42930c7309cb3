"""The layering of the source folders: every `#include`, proto `import` and
CMake link points down the layer graph below, and nothing forms a cycle.

The graph is data (LAYERS): each folder and the folders it may use directly.
The test prints it; the README's architecture section shows the same text.
Run it alone to print the graph and the folder-level include counts:

    python3 tests/layering_test.py --print
"""

import collections
import os
import re
import subprocess
import sys
import unittest

SOURCE_DIR = os.environ.get(
    "MOVIEREC_SOURCE_DIR",
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Bottom up. A folder may include and link only the folders it lists; tests/
# may use every folder, and no folder may use tests/.
LAYERS = collections.OrderedDict([
    ("util", []),
    ("proto", []),
    ("data", ["util"]),
    ("index", ["util"]),
    ("model", ["util", "proto", "data", "index"]),
    ("train", ["util", "proto", "data", "index", "model"]),
    ("server", ["util", "proto", "data", "index", "model"]),
    ("client", ["util", "proto", "model"]),
])

# Binaries of the online side: nothing they link may come from train/.
ONLINE_TARGETS = ("movierec-server", "movierec-client", "movierec-loadgen")

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
PROTO_IMPORT = re.compile(r'^\s*import\s+"([^"]+)"\s*;', re.M)
CMAKE_TARGET = re.compile(
    r"(?:add_(?:library|executable)|movierec_proto_library)\(\s*([\w-]+)")
CMAKE_LINK = re.compile(r"target_link_libraries\(\s*([\w-]+)([^)]*)\)", re.S)


def graph_text(layers=LAYERS):
    """The allowed graph as the README shows it."""
    width = max(len(name) for name in layers)
    lines = [f"{'layer'.ljust(width)}  may use"]
    for name, uses in layers.items():
        lines.append(f"{name.ljust(width)}  {' '.join(uses) or '-'}")
    return "\n".join(lines)


def topological_order(layers):
    """The layers bottom up; ValueError naming a cycle or an unknown layer."""
    order, state = [], {}

    def visit(name, path):
        if name not in layers:
            raise ValueError(f"{path[-1]} uses unknown layer {name}")
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = path[path.index(name):] + [name]
            raise ValueError("layer cycle: " + " -> ".join(cycle))
        state[name] = "visiting"
        for used in layers[name]:
            visit(used, path + [name])
        state[name] = "done"
        order.append(name)

    for name in layers:
        visit(name, [name])
    return order


def folder_of_include(path):
    """The layer (or "tests") an include or import path points into, or None
    for a third-party header."""
    parts = path.split("/")
    if parts[0] == "movierec":  # generated from proto/
        return "proto"
    if parts[0] in LAYERS or parts[0] == "tests":
        return parts[0]
    return None


def tracked_files(source_dir):
    out = subprocess.run(["git", "ls-files"], cwd=source_dir, check=True,
                         capture_output=True, text=True).stdout
    return [f for f in out.splitlines() if f]


def source_edges(source_dir, files):
    """(from folder, to folder, file, included path) for every include or
    import of a project file from a layer folder."""
    edges = []
    for f in files:
        folder = f.split("/")[0]
        if folder not in LAYERS:
            continue
        if f.endswith((".h", ".cc")):
            pattern = INCLUDE
        elif f.endswith(".proto"):
            pattern = PROTO_IMPORT
        else:
            continue
        with open(os.path.join(source_dir, f), encoding="utf-8") as text:
            for included in pattern.findall(text.read()):
                target = folder_of_include(included)
                if target is not None and target != folder:
                    edges.append((folder, target, f, included))
    return edges


def cmake_targets(source_dir):
    """{target: folder} for the targets each layer's CMakeLists.txt defines,
    and {target: [linked project targets]}."""
    owner, links = {}, collections.defaultdict(list)
    texts = {}
    for folder in LAYERS:
        path = os.path.join(source_dir, folder, "CMakeLists.txt")
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                texts[folder] = re.sub(r"#[^\n]*", "", f.read())
            for target in CMAKE_TARGET.findall(texts[folder]):
                owner[target] = folder
    for folder, text in texts.items():
        for target, args in CMAKE_LINK.findall(text):
            for token in args.split():
                if token in owner:
                    links[target].append(token)
    return owner, links


def link_problems(owner, links, layers=LAYERS):
    problems = []
    for target, linked in sorted(links.items()):
        folder = owner.get(target)
        for other in linked:
            to = owner[other]
            if folder is not None and to != folder and to not in layers[folder]:
                problems.append(f"{folder}/CMakeLists.txt: {target} links "
                                f"{other} ({to}/), which {folder}/ may not use")
    # The online binaries' whole link closure stays out of train/.
    for binary in ONLINE_TARGETS:
        seen, stack = set(), [binary]
        while stack:
            target = stack.pop()
            for other in links.get(target, []):
                if other not in seen:
                    seen.add(other)
                    stack.append(other)
        offline = sorted(t for t in seen if owner.get(t) == "train")
        if offline:
            problems.append(f"{binary} links offline code: {offline}")
    return problems


def include_problems(edges, layers=LAYERS):
    problems = []
    for folder, to, f, included in edges:
        if to not in layers[folder]:
            problems.append(f'{f}: #include "{included}" reaches {to}/, '
                            f"which {folder}/ may not use")
    return problems


def header_cycles(source_dir, files):
    """Include cycles between project headers, each as a list of paths."""
    headers = {f for f in files if f.endswith(".h")}
    graph = {}
    for h in headers:
        with open(os.path.join(source_dir, h), encoding="utf-8") as text:
            graph[h] = [i for i in INCLUDE.findall(text.read()) if i in headers]
    cycles, state = [], {}

    def visit(h, path):
        state[h] = "visiting"
        for included in graph[h]:
            if state.get(included) == "visiting":
                cycles.append(path[path.index(included):] + [included])
            elif included not in state:
                visit(included, path + [included])
        state[h] = "done"

    for h in sorted(graph):
        if h not in state:
            visit(h, [h])
    return cycles


class LayeringTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.files = tracked_files(SOURCE_DIR)
        cls.edges = source_edges(SOURCE_DIR, cls.files)
        cls.owner, cls.links = cmake_targets(SOURCE_DIR)
        print("\n" + graph_text(), file=sys.stderr)

    def test_the_graph_is_acyclic_and_names_real_folders(self):
        topological_order(LAYERS)
        for name in LAYERS:
            self.assertTrue(os.path.isdir(os.path.join(SOURCE_DIR, name)),
                            f"layer {name}/ is not a folder")

    def test_includes_point_down(self):
        self.assertEqual(include_problems(self.edges), [])

    def test_links_point_down_and_the_server_links_no_training_code(self):
        self.assertIn("movierec-server", self.owner)
        self.assertIn("movierec_train", self.owner)
        self.assertEqual(link_problems(self.owner, self.links), [])

    def test_no_header_include_cycle(self):
        self.assertEqual(header_cycles(SOURCE_DIR, self.files), [])

    def test_the_readme_shows_this_graph(self):
        with open(os.path.join(SOURCE_DIR, "README.md"), encoding="utf-8") as f:
            self.assertTrue(graph_text() in f.read(),
                            "README.md does not show this layer graph:\n" +
                            graph_text())

    # The checks catch what they are for.
    def test_catches_an_upward_include(self):
        edges = [("index", "model", "index/x.h", "model/model.h")]
        self.assertEqual(len(include_problems(edges)), 1)
        self.assertEqual(
            include_problems([("index", "util", "index/x.h", "util/y.h")]), [])

    def test_catches_an_upward_link_and_training_code_in_the_server(self):
        owner = {"movierec_index": "index", "movierec_model": "model",
                 "movierec_train": "train", "movierec_server": "server",
                 "movierec-server": "server"}
        upward = {"movierec_index": ["movierec_model"]}
        self.assertEqual(len(link_problems(owner, upward)), 1)
        offline = {"movierec-server": ["movierec_server"],
                   "movierec_server": ["movierec_model", "movierec_train"]}
        problems = link_problems(owner, offline)
        self.assertTrue(any("movierec-server links offline code" in p
                            for p in problems), problems)

    def test_catches_a_layer_cycle(self):
        cyclic = collections.OrderedDict([("a", ["b"]), ("b", ["a"])])
        with self.assertRaisesRegex(ValueError, "layer cycle"):
            topological_order(cyclic)


def print_summary():
    print(graph_text())
    print()
    files = tracked_files(SOURCE_DIR)
    counts = collections.Counter(
        (a, b) for a, b, _, _ in source_edges(SOURCE_DIR, files))
    print("includes between folders:")
    for (a, b), n in sorted(counts.items()):
        print(f"  {a} -> {b}: {n}")


if __name__ == "__main__":
    if "--print" in sys.argv:
        print_summary()
    else:
        unittest.main()
