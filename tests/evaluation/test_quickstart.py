"""The quickstart end to end on a tiny budget: report.json's shape, report.html and its images."""

import json

from guided_pix2pix.cli import main


def test_quickstart_writes_report(tmp_path, capsys):
    out = tmp_path / "qs"
    tiny = [
        "model.ngf=4",
        "model.n_blocks=1",
        "model.bottleneck=8",
        "data.options.size=[32,32]",
        "data.options.count=32",
    ]
    assert (
        main(
            [
                "quickstart",
                "--out",
                str(out),
                "--no-progress",
                *tiny,
                "train.max_steps=2",
                "train.val_every=0",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "middlebury: bFT RMSE" in printed and "report.html" in printed
    report = json.loads((out / "report.json").read_text())
    for name, images in (("synthetic", 64), ("middlebury", 1)):
        r = report[name]
        assert set(r) >= {"bft_rmse_cm", "bicubic_rmse_cm"}
        assert r["images"] == images and r["bft_rmse_cm"] > 0 and r["bicubic_rmse_cm"] > 0
        assert r["bft_beats_bicubic"] == (r["bft_rmse_cm"] < r["bicubic_rmse_cm"])
        assert set(r["filters_rmse_cm"]) == {"joint_bilateral", "guided_filter", "fgs"}
        assert r["filters_beating_bft"] == [
            f for f, v in r["filters_rmse_cm"].items() if v < r["bft_rmse_cm"]
        ]
    assert set(report["middlebury"]["oracle_filters_rmse_cm"]) == set(report["filter_params"]) - {"bicubic"}
    for f, oracle in report["middlebury"]["oracle_filters_rmse_cm"].items():  # tuned on the test: never worse
        assert oracle <= report["middlebury"]["filters_rmse_cm"][f] + 1e-9
    # the bicubic baseline does not depend on the model: Middlebury x8 protocol A, fixed data
    assert 15 < report["middlebury"]["bicubic_rmse_cm"] < 25
    page = (out / "report.html").read_text()
    assert "bicubic RMSE (cm)" in page and "oracle filters (tuned on test)" in page
    assert (out / "eval" / "middlebury" / "index_images" / "00000_2.png").is_file()
    assert (out / "eval" / "synthetic" / "metrics.json").is_file()
