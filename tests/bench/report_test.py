"""The logic of the generated benchmark sections (report.py) and of
serving_compare.py's summary, on made-up inputs: no benchmark runs."""

import argparse
import json
import os
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import serving_compare  # noqa: E402

ZEN5 = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
cpu MHz\t\t: 2694.879
flags\t\t: fpu sse sse2 avx fma avx2 avx512f avx512bw

processor\t: 1
vendor_id\t: AuthenticAMD
cpu family\t: 26
"""
ZEN4 = ZEN5.replace("cpu family\t: 26", "cpu family\t: 25")
HASWELL = """vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 63
cpu MHz\t\t: 2000.000
flags\t\t: fpu sse sse2 avx fma avx2
"""


def render(block, result, command, plot=None, **flags):
    """The block `block` that report.py's `command` writes from `result`
    (written as its JSON) into a document of that block alone; `plot`, the
    name of a plot function, is replaced by one that draws nothing."""
    with tempfile.TemporaryDirectory() as tmp:
        doc = os.path.join(tmp, "doc.md")
        path = os.path.join(tmp, f"{block}.json")
        with open(doc, "w", encoding="utf-8") as f:
            f.write(f"<!-- BEGIN GENERATED {block} -->\n"
                    f"<!-- END GENERATED {block} -->\n")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f)
        args = argparse.Namespace(doc=doc, json=path, **flags)
        if plot is None:
            command(args)
        else:
            with mock.patch.object(report, plot,
                                   lambda *_: f"{block}.png"):
                command(args)
        with open(doc, encoding="utf-8") as f:
            return f.read()


class TheoreticalPeakTest(unittest.TestCase):
    def test_zen5_runs_avx512_at_full_width(self):
        peak = report.theoretical_peak(ZEN5, 2)
        # 2.694879 GHz x 2 FMA pipes x 16 floats x 2 FLOPs.
        self.assertAlmostEqual(peak["per_core"], 2.694879 * 64, places=3)
        self.assertAlmostEqual(peak["total"], 2.694879 * 128, places=3)
        self.assertIn("2.69 GHz (/proc/cpuinfo's cpu MHz)", peak["how"])
        self.assertIn("16 floats (512-bit)", peak["how"])

    def test_zen4_splits_avx512_in_halves(self):
        peak = report.theoretical_peak(ZEN4, 2)
        self.assertEqual(peak["lanes"], 8)
        self.assertIn("Zen 4", peak["how"])

    def test_avx2_and_the_max_clock(self):
        peak = report.theoretical_peak(HASWELL, 4, max_mhz=3000)
        self.assertEqual((peak["lanes"], peak["pipes"]), (8, 2))
        self.assertAlmostEqual(peak["total"], 3.0 * 32 * 4)
        self.assertIn("lscpu's CPU max MHz", peak["how"])

    def test_no_fma_one_pipe(self):
        peak = report.theoretical_peak(
            HASWELL.replace(" fma", "").replace(" avx2", ""), 1)
        self.assertEqual((peak["lanes"], peak["pipes"]), (4, 1))


class StampTest(unittest.TestCase):
    def test_dirty_tree_in_bold(self):
        text = report.run_stamp("abc123-dirty", True, "0.1 0.2 0.3",
                                "1.0 0.5 0.4")
        self.assertTrue(text.startswith("**Run from a dirty tree "
                                        "(abc123-dirty)"))
        self.assertIn("0.1 0.2 0.3 before this section's benchmarks, "
                      "1.0 0.5 0.4 after", text)

    def test_clean_tree(self):
        text = report.run_stamp("abc123", False, "0.1 0.2 0.3", None)
        self.assertEqual(text, "Code abc123; load average (1, 5, 15 min) "
                         "0.1 0.2 0.3 before this section's benchmarks, "
                         "? after.")
        self.assertEqual(report.run_stamp(), "")

    def test_names_the_cpu(self):
        text = report.run_stamp("abc123", False, "0.1 0.2 0.3", "0.4 0.5 0.6",
                                "AMD EPYC, 2 cores")
        self.assertTrue(text.startswith("Code abc123 on AMD EPYC, 2 cores; "
                                        "load average"), text)
        dirty = report.run_stamp("abc-dirty", True, cpu="AMD EPYC, 2 cores")
        self.assertIn("\n\nOn AMD EPYC, 2 cores.", dirty)
        self.assertRegex(report.cpu_name(), r", \d+ cores$")

    def test_splice_puts_the_stamp_first_and_keeps_the_rest(self):
        with tempfile.TemporaryDirectory() as tmp:
            doc = os.path.join(tmp, "doc.md")
            with open(doc, "w", encoding="utf-8") as f:
                f.write("intro\n<!-- BEGIN GENERATED x -->\nold\n"
                        "<!-- END GENERATED x -->\nafter\n")
            report.STAMP = report.run_stamp("abc-dirty", True)
            try:
                report.splice(doc, "x", "new table")
            finally:
                report.STAMP = ""
            with open(doc, encoding="utf-8") as f:
                text = f.read()
        self.assertEqual(
            text, "intro\n<!-- BEGIN GENERATED x -->\n**Run from a dirty "
            "tree (abc-dirty): uncommitted changes, so these figures belong "
            "to no commit.**\n\n\nnew table\n<!-- END GENERATED x -->\n"
            "after\n")


class BlasTest(unittest.TestCase):
    def test_ldd_line(self):
        ldd = ("\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x1)\n"
               "\tlibblas.so.3 => /usr/lib/x86_64-linux-gnu/libblas.so.3 "
               "(0x2)\n")
        self.assertEqual(report.blas_from_ldd(ldd),
                         "/usr/lib/x86_64-linux-gnu/libblas.so.3")
        self.assertIsNone(report.blas_from_ldd("\tlibm.so.6 => /x (0x1)\n"))

    def test_names(self):
        self.assertEqual(report.blas_name(
            "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"),
            "OpenBLAS")
        self.assertEqual(report.blas_name(
            "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"),
            "reference BLAS (Netlib)")


def level(concurrency, ok_qps, cpu_us, p50=0.1, p99=0.3):
    return {"concurrency": concurrency, "qps": ok_qps, "ok_qps": ok_qps,
            "p50_ms": p50, "p99_ms": p99, "errors": {}, "error_messages": {},
            "ok_calls": 1000, "server_cpu_s": 0.1, "wall_s": 1.0,
            "server_cpu_us_per_call": cpu_us, "server_cpu_share": 0.97}


def compare_result(servers, runs, **fields):
    """serving_compare.py's result of `runs` on `servers` (the first the
    empty one, the others movierec servers), with `fields` over its
    defaults."""
    result = {
        "date": "2026-12-05T13:00:00+00:00", "load_avg": [0.1, 0.2, 0.3],
        "load_avg_after": [1.0, 0.5, 0.4], "model": "/m/1",
        "server_cpus": "0", "loadgen_cpus": "1", "timeout_seconds": 1,
        "level_seconds": 5, "warmup_seconds": 1, "repetitions": 2,
        "min_rise": 0.03, "flat_levels": 2, "batch_size": 100,
        "server_flags": "",
        "builds": {n: {"binary": f"/b/{n}"} for n in servers + ["loadgen"]},
        "servers": servers, "runs": runs,
        "movierec_servers": servers[1:],
        **fields,
    }
    result["summary"] = serving_compare.summarize(servers, runs, 100,
                                                  servers[1:])
    return result


def fake_runs():
    """Two repetitions of Recommend and RecommendBatch on two servers."""
    runs = []
    for rep, (empty_cpu, movierec_cpu) in enumerate([(50, 60), (52, 66)]):
        runs.append({"repetition": rep, "method": "Recommend", "levels": {
            "empty": [level(1, 8000, 90, p50=0.100),
                      level(2, 16000, empty_cpu)],
            "movierec": [level(1, 7000, 100, p50=0.110),
                         level(2, 13000, movierec_cpu)]}})
        runs.append({"repetition": rep, "method": "RecommendBatch",
                     "levels": {"empty": [level(1, 3000, 200)],
                                "movierec": [level(1, 300, 1500)]}})
    return runs


class SummaryTest(unittest.TestCase):
    def test_medians_and_ratios(self):
        summary = serving_compare.summarize(["empty", "movierec"],
                                            fake_runs(), 100)
        empty = summary["Recommend"]["empty"]
        movierec = summary["Recommend"]["movierec"]
        self.assertEqual(empty["max_qps"], 16000)
        self.assertEqual(empty["cpu_us_per_call"], 51)
        self.assertEqual(movierec["cpu_us_per_call"], 63)
        self.assertEqual(movierec["cpu_us_per_call_range"], [60, 66])
        self.assertEqual(movierec["concurrency"], [2, 2])
        self.assertAlmostEqual(movierec["p50_ms_at_1"], 0.110)
        self.assertAlmostEqual(movierec["cpu_over_empty"], 63 / 51)
        self.assertAlmostEqual(movierec["qps_over_empty"], 13000 / 16000)
        batch = summary["RecommendBatch"]["movierec"]
        self.assertEqual(batch["cpu_us_per_request"], 15)
        self.assertAlmostEqual(batch["cpu_per_request_over_recommend"],
                               15 / 63)

    def test_compare_section(self):
        result = compare_result(
            ["empty", "movierec"], fake_runs(),
            blas={"movierec": ["/usr/lib/openblas-pthread/libblas.so.3"]})
        text = render("compare", result, report.cmd_compare,
                      section="compare")
        self.assertIn("**1.24x** the empty call's (63.0 against 51.0 us): "
                      "required <= 1.2x **not met**", text)
        self.assertIn("- A request inside a RecommendBatch of 100 costs "
                      "**0.24x** a single Recommend's server CPU", text)
        self.assertIn("costs **0.24x** a single Recommend's server CPU "
                      "(15.00 against 63.0 us): required <= 0.25x **met**",
                      text)
        self.assertIn("| Recommend | movierec-server | 13,000 | 2/2 | 0.100"
                      " | 0.300 | 0.110 | 63.0 (60.0-66.0) | - | 0.81x | "
                      "1.24x | - |", text)
        self.assertIn("| Recommend | empty call (plain gRPC, answered "
                      "inline) | 16,000 | 2/2 |", text)
        self.assertIn("| RecommendBatch of 100 | movierec-server | 300 | 1/1"
                      " | 0.100 | 0.300 | 0.100 | 1,500.0 | 15.00 | 0.10x | "
                      "7.50x | - |", text)
        self.assertIn("movierec-server: "
                      "`/usr/lib/openblas-pthread/libblas.so.3`", text)

    def test_a_servers_own_flags_are_named(self):
        runs = fake_runs()
        for run in runs:
            run["levels"]["uncached"] = run["levels"]["movierec"]
        result = compare_result(
            ["empty", "movierec", "uncached"], runs,
            server_flags="--max_queue_wait 1s",
            own_server_flags={"uncached": "--result_cache 0"})
        text = render("compare", result, report.cmd_compare,
                      section="compare")
        self.assertIn("movierec-server, no result cache `/b/uncached` (no "
                      "CMakeCache.txt beside it: flags unknown), run with "
                      "`--max_queue_wait 1s` and `--result_cache 0`", text)
        self.assertIn("| Recommend | movierec-server, no result cache | "
                      "13,000 |", text)

    def test_two_movierec_servers_side_by_side(self):
        runs = fake_runs()
        for run in runs:
            run["levels"]["main"] = [
                dict(lv, server_cpu_us_per_call=2 * lv[
                    "server_cpu_us_per_call"]) for lv in
                run["levels"]["movierec"]]
        names = ["empty", "movierec", "main"]
        summary = serving_compare.summarize(names, runs, 100,
                                            ["movierec", "main"])
        self.assertEqual(summary["Recommend"]["main"]["cpu_us_per_call"],
                         126)
        self.assertAlmostEqual(
            summary["RecommendBatch"]["main"]
            ["cpu_per_request_over_recommend"], 30 / 126)
        result = {"summary": summary, "batch_size": 100,
                  "movierec_servers": ["movierec", "main"]}
        lines = report.compare_verdicts(result)
        self.assertEqual(len(lines), 4)
        self.assertTrue(lines[0].startswith(
            "- Recommend's server CPU per call is **1.24x**"))
        self.assertTrue(lines[2].startswith(
            "- movierec-server (main): Recommend's server CPU per call is "
            "**2.47x**"), lines[2])
        self.assertIn("movierec-server (main): a request inside", lines[3])


class TrainTest(unittest.TestCase):
    def test_cpu_time_and_theoretical_peak(self):
        def bench(name, real, cpu, gflops):
            return {"name": name, "run_name": name, "run_type": "iteration",
                    "repetitions": 1, "real_time": real, "cpu_time": cpu,
                    "time_unit": "ms", "GFLOPS": gflops}
        data = {"context": {"date": "d", "num_cpus": 2,
                            "load_avg": [0.1, 0.1, 0.1]},
                "benchmarks": [
                    bench("BM_EigenGemmPeak/2048/process_time/real_time",
                          100, 200, 100),
                    bench("BM_TfrsRetrievalEpochs/process_time/real_time",
                          1000, 1600, 40)]}
        with tempfile.TemporaryDirectory() as tmp:
            doc = os.path.join(tmp, "doc.md")
            path = os.path.join(tmp, "train.json")
            cpuinfo = os.path.join(tmp, "cpuinfo")
            with open(doc, "w", encoding="utf-8") as f:
                f.write("<!-- BEGIN GENERATED train -->\n"
                        "<!-- END GENERATED train -->\n")
            with open(path, "w", encoding="utf-8") as f:
                json.dump(data, f)
            with open(cpuinfo, "w", encoding="utf-8") as f:
                f.write(ZEN5)
            report.cmd_train(argparse.Namespace(
                doc=doc, json=path, scale_json=None, metrics=None,
                cpuinfo=cpuinfo, max_mhz=None))
            with open(doc, encoding="utf-8") as f:
                text = f.read()
        # 40 GFLOP/s x 1000 ms / 1600 ms of CPU = 25 per CPU-second; the
        # peak's 100 x 100 / 200 = 50.
        self.assertIn("the tfrs preset does 25.0 GFLOP per CPU-second "
                      "against the GEMM peak's 50.0 (**50%**)", text)
        self.assertIn("**The CPU's theoretical peak**: 345 GFLOP/s, 172.5 "
                      "per core", text)
        self.assertIn("The GEMM peak reaches 29% of it in wall time, 29% of "
                      "a core's per CPU-second", text)
        self.assertIn("| `BM_EigenGemmPeak/2048` | 100 ms | 100.0 | 50.0 | "
                      "100% | 29% |", text)



class ScaleTest(unittest.TestCase):
    @staticmethod
    def run_of(shape, interactions, wall, stages, refit=True):
        return {"shape": shape, "wall_seconds": wall,
                "pipeline": {"ndcg_at_10": 0.25},
                "report": {
                    "stages": [{"stage": name, "seconds": sec,
                                "peak_rss_mb": mb}
                               for name, sec, mb in stages],
                    "peak_rss_mb": max(mb for _, _, mb in stages),
                    "data": {"train_interactions": interactions,
                             "users": 10, "movies": 20},
                    "config": {"retrieval": {"softmax": "full"},
                               "refit": refit, "validation_fraction": 0.05,
                               "evaluation_users": 0 if refit else 20000},
                    "training": {"retrieval": {"epochs": 2,
                                               "seconds": 10.0}}}}

    def test_verdicts_stage_table_and_served_line(self):
        result = {
            "runs": [
                self.run_of("small", 1000, 60,
                            [("load and split", 1.0, 50),
                             ("retrieval, refit", 5.0, 80)]),
                self.run_of("large", 20_000_000, 30 * 60,
                            [("load and split", 20.0, 1500),
                             ("retrieval, validation fit", 900.0, 3000)],
                            refit=False)],
            "served": {"shape": "large", "user": "u1",
                       "seconds_to_serve": 4.2, "rss_mb": 900,
                       "client_ms": 35, "answer": ["1. m5 (0.9)"]}}
        text = render("scale", result, report.cmd_scale, "scale_plot",
                      plots="unused", work="unused")
        self.assertIn("**large**: 30.0 min wall (required <= 45, aim <= 20: "
                      "met, aim not met), peak resident memory 3,000 MB "
                      "(required <= 8,000, aim <= 4,000: met, aim met)", text)
        # Stages either run lacks are dashes.
        self.assertIn("| retrieval, validation fit | - | 900.0 s, 3,000 MB |",
                      text)
        self.assertIn("| load and split | 1.0 s, 50 MB | 20.0 s, 1,500 MB |",
                      text)
        self.assertIn("| retrieval, refit | 5.0 s, 80 MB | - |", text)
        # The validation fit trains on 95% of the interactions: 2 epochs of
        # 19M in 10 s.
        self.assertIn("| large | 20,000,000 | 10 | 20 | full | no | 20,000 | "
                      "30.0 | 3,000 | 3,800,000 | - | 0.2500 |", text)
        self.assertIn("served in 4.2 s, resident 900 MB", text)

class CatalogueTest(unittest.TestCase):
    @staticmethod
    def size(movies, empty_qps, qps, cpu, p99_half, index, runs=()):
        def row(q, c, over=None):
            r = {"max_qps": q, "max_qps_range": [q, q], "p50_ms": 0.2,
                 "p99_ms": 0.9, "cpu_us_per_call": c,
                 "cpu_us_per_call_range": [c, c]}
            if over:
                r.update(qps_over_empty=q / over[0],
                         cpu_over_empty=c / over[1])
            return r
        return {"movies": movies, "users": 943, "interactions": 122590,
                "trained": {"commit": "abc1234", "train_minutes": 0.5,
                            "ndcg_at_10": 0.5},
                "compare": {"empty": row(empty_qps, 20.0),
                            "movierec": row(qps, cpu, (empty_qps, 20.0))},
                "half_load": {"offered_qps": qps / 2, "p99_ms": p99_half,
                              "index": index,
                              "runs": [{"p99_ms": p99,
                                        "server_cpu_us_per_call": c}
                                       for p99, c in runs]}}

    def test_verdicts_and_rows(self):
        result = {
            "date": "2026-12-06T10:00:00+00:00", "load_avg": [0.1, 0.2, 0.3],
            "load_avg_after": [1.0, 0.5, 0.4], "server_cpus": "0",
            "loadgen_cpus": "1", "repetitions": 3,
            "server_flags": "--max_queue_wait 1s",
            "build": {"binary": "/b/movierec-server"},
            "sizes": [
                self.size(1682, 40000, 10000, 80.0, 0.5,
                          "flat(exclusion=auto)"),
                self.size(100000, 40000, 30000, 26.0, 1.0,
                          "flat(exclusion=auto)"),
                self.size(1000000, 40000, 4000, 200.0, 4.5,
                          "ivf(nlist=2000, nprobe=96, exclusion=auto)",
                          runs=[(85.0, 400.0), (4.5, 300.0), (2.0, 350.0)])]}
        text = render("catalogue", result, report.cmd_catalogue,
                      "catalogue_plot", plots="unused", work="unused")
        self.assertIn("- 100,000 movies: Recommend's max QPS is 0.75x the "
                      "empty call's (required >= 0.7): met.", text)
        self.assertIn("- 1,000,000 movies: Recommend's max QPS is 0.10x the "
                      "empty call's (required >= 0.5): **not met**.", text)
        # Met by the median; the run above the bar is named.
        self.assertIn("- 1,000,000 movies: p99 at half load 4.50 ms, the "
                      "median (required <= 5 ms; the runs: 85.00 / 4.50 / "
                      "2.00 ms, 1 of 3 above): met.", text)
        self.assertNotIn("- 100,000 movies: p99 at half load", text)
        self.assertNotIn("- 1,682 movies", text)
        self.assertIn("| 1,000,000 | Recommend | `ivf(nlist=2000, nprobe=96, "
                      "exclusion=auto)` | 4,000 | 0.200 | 0.900 | 200.0 | "
                      "0.10x | 10.00x | 4.500 (2.000-85.000) at 2,000/s, "
                      "350 µs/call |", text)
        # Without the runs: the median alone.
        self.assertIn("| 1.000 at 15,000/s |", text)
        self.assertIn("| 1,682 | empty call | - | 40,000 |", text)


if __name__ == "__main__":
    unittest.main()
