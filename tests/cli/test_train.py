"""``chainrule train`` / ``evaluate`` / ``predict`` end to end on the embedded digits."""

from __future__ import annotations

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main
from chainrule.train import TrainConfig, load_checkpoint, train_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """One short training run shared by the tests that only read its folder."""
    out = tmp_path_factory.mktemp("run")
    cr.manual_seed(0)
    rc = main(["train", "--epochs", "3", "--hidden", "64", "--batch-size", "64", "--quiet",
               "--out", str(out)])
    assert rc == 0
    return out


def test_train_writes_the_run_folder_and_learns(run_dir, capsys):
    assert sorted(p.name for p in run_dir.iterdir()) == [
        "checkpoint.safetensors", "metrics.json", "report.html"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    # 3 short epochs give ~87% on digits; a wrong gradient or a label mix-up gives ~10%
    assert metrics["test"]["accuracy"] > 0.8
    assert metrics["test"]["num_examples"] == 359
    assert metrics["history"]["epochs"] == 3
    assert metrics["config"]["hidden"] == [64]
    html = (run_dir / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and html.count("data:image/png;base64,") == 4
    ckpt = load_checkpoint(run_dir)
    assert ckpt.image_shape == (8, 8, 1) and ckpt.class_names == [str(d) for d in range(10)]
    assert ckpt.epoch == 3 and ckpt.normalization["mean"].shape == (64,)


def test_the_report_shows_the_learning_rate_used(run_dir):
    html = (run_dir / "report.html").read_text()
    assert "<tr><td>lr</td><td>0.001</td></tr>" in html     # adam's default, not None
    assert "<td>lr</td><td>None</td>" not in html


def test_train_prints_progress_and_accuracy(tmp_path, capsys):
    rc = main(["train", "--epochs", "1", "--hidden", "16", "--augment", "none",
               "--val-fraction", "0.1", "--out", str(tmp_path / "r")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "epoch 1/1" in out and "val acc" in out
    assert "test accuracy:" in out and str(tmp_path / "r") in out


def test_evaluate_command(run_dir, capsys):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert main(["evaluate", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert f"test accuracy: {metrics['test']['accuracy']:.2%}" in out
    assert "confusion matrix" in out and "precision" in out
    assert main(["evaluate", str(run_dir), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["confusion_matrix"] == metrics["test"]["confusion_matrix"]


def test_predict_on_generated_pngs(run_dir, tmp_path, capsys):
    from PIL import Image

    ds = cr.data.load("digits")
    idx = [int(np.flatnonzero(ds.test_labels == d)[0]) for d in (0, 3, 7)]
    files = []
    for i in idx:
        f = tmp_path / f"digit{i}.png"
        Image.fromarray(ds.test_images[i][..., 0]).save(f)
        files.append(str(f))
    big = tmp_path / "big.jpg"  # larger RGB, inverted: resized, grayed, inverted back
    Image.fromarray(255 - ds.test_images[idx[0]][..., 0]).resize((64, 64), Image.NEAREST) \
        .convert("RGB").save(big, quality=95)
    assert main(["predict", str(run_dir), *files, "--json"]) == 0
    preds = json.loads(capsys.readouterr().out)
    ckpt = load_checkpoint(run_dir)
    from chainrule.train.metrics import predict_scores

    pre = ckpt.preprocessor()
    expected = predict_scores(ckpt.model, pre.transform(ds.test_images[idx])).argmax(axis=1)
    assert [p["prediction"] for p in preds] == [str(e) for e in expected]
    for p in preds:
        probs = [t["probability"] for t in p["top"]]
        assert len(probs) == 3 and probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1
    assert main(["predict", str(run_dir), str(big), "--invert", "--top", "2"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{big}: ") and line.count("%") == 2


def _digit(label: int) -> np.ndarray:
    ds = cr.data.load("digits")
    return ds.test_images[int(np.flatnonzero(ds.test_labels == label)[0])][..., 0]


def test_predict_warns_about_polarity_and_size_and_names_the_fix(run_dir, tmp_path, capsys):
    from PIL import Image

    seven = _digit(7)
    white = tmp_path / "white.png"                 # dark ink on white paper, bigger
    Image.fromarray(255 - seven).resize((64, 64), Image.NEAREST).save(white)
    canvas = np.zeros((200, 200), np.uint8)        # a small drawing in a big frame
    canvas[80:112, 90:122] = np.asarray(Image.fromarray(seven).resize((32, 32), Image.NEAREST))
    small = tmp_path / "small.png"
    Image.fromarray(canvas).save(small)
    plain = tmp_path / "plain.png"
    Image.fromarray(seven).save(plain)
    assert main(["predict", str(run_dir), str(plain), str(white), str(small)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"chainrule predict: warning: {white}: light background (level 1.00), but the training "
        "images have a dark one (0.03): the prediction is unreliable; add --invert",
        f"chainrule predict: warning: {small}: the drawing fills 16% of the image, the training "
        "images' 100%: the prediction is unreliable; add --fit to crop the image to the drawing",
    ]
    assert main(["predict", str(run_dir), str(white), "--invert", "--json"]) == 0
    out = capsys.readouterr()
    assert out.err == "" and json.loads(out.out)[0]["image"] == str(white)
    assert main(["predict", str(run_dir), str(plain), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)[0]["top"]
    assert main(["predict", str(run_dir), str(small), "--fit", "--json"]) == 0
    out = capsys.readouterr()
    assert out.err == ""
    assert json.loads(out.out)[0]["prediction"] == expected[0]["class"]   # as the plain digit


def test_evaluate_on_another_data_set_matches_classes_by_name(run_dir, tmp_path, capsys):
    from PIL import Image

    ds = cr.data.load("digits")
    folder = tmp_path / "my-digits"                # only two classes, larger images
    for label in (7, 3):
        (folder / str(label)).mkdir(parents=True)
        for k, i in enumerate(np.flatnonzero(ds.test_labels == label)[:10]):
            Image.fromarray(ds.test_images[i][..., 0]).resize((16, 16), Image.NEAREST).save(
                folder / str(label) / f"{k}.png")
    assert main(["evaluate", str(run_dir), "--data", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["class_names"] == [str(d) for d in range(10)]          # the run's classes
    support = {name: c["support"] for name, c in data["per_class"].items() if c["support"]}
    assert set(support) == {"3", "7"} and sum(support.values()) == data["num_examples"]
    assert data["accuracy"] > 0.5
    (folder / "cat").mkdir()
    for k in range(5):
        Image.fromarray(ds.test_images[k][..., 0]).save(folder / "cat" / f"{k}.png")
    assert main(["evaluate", str(run_dir), "--data", str(folder)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("chainrule evaluate: error: ") and "\n" not in err
    assert "has classes the run does not know: cat" in err


def test_resume_continues_exactly(tmp_path):
    cfg = TrainConfig(epochs=3, hidden=[32], batch_size=64, augment="none", dropout=0.2,
                      val_fraction=0.2)
    train_run(cfg, out=tmp_path / "full", progress=False)

    def crash_after_two(trainer, epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, out=tmp_path / "cut", progress=False, callbacks=(crash_after_two,))
    assert load_checkpoint(tmp_path / "cut").epoch == 2
    cr.manual_seed(999)
    assert main(["train", "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    a = json.loads((tmp_path / "full" / "metrics.json").read_text())
    b = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    for key in ("train_loss", "train_acc", "val_acc", "lr"):
        assert a["history"][key] == b["history"][key]
    assert a["test"] == b["test"]
    wa, wb = load_checkpoint(tmp_path / "full"), load_checkpoint(tmp_path / "cut")
    for name, value in wa.state_dict.items():
        np.testing.assert_array_equal(wb.state_dict[name], value)


def _one_line_error(capsys, argv, command):
    rc = main(argv)
    err = capsys.readouterr().err.strip()
    assert rc != 0
    assert err.startswith(f"chainrule {command}: error:"), err
    assert len(err.splitlines()) == 1, err
    return err


def test_error_paths_print_one_line(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # runs without --out go to ./runs/
    assert "epochs must be >= 1" in _one_line_error(capsys, ["train", "--epochs", "0"], "train")
    assert "learning rate must be > 0" in _one_line_error(
        capsys, ["train", "--lr", "-1"], "train")
    assert "dropout must be in [0, 1)" in _one_line_error(
        capsys, ["train", "--dropout", "1.5"], "train")
    assert "early stopping needs a validation split" in _one_line_error(
        capsys, ["train", "--early-stopping", "3"], "train")
    _one_line_error(capsys, ["train", "--data", str(tmp_path / "nowhere")], "train")
    assert "no checkpoint here" in _one_line_error(
        capsys, ["train", "--resume", str(tmp_path / "missing")], "train")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "checkpoint.safetensors").write_bytes(b"\x00" * 20)
    assert not (tmp_path / "runs").exists()  # failed runs leave no empty run folder
    assert "bad header" in _one_line_error(capsys, ["evaluate", str(bad)], "evaluate")
    assert "no checkpoint here" in _one_line_error(
        capsys, ["evaluate", str(tmp_path / "missing")], "evaluate")
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert "not a readable PNG/JPEG image" in _one_line_error(
        capsys, ["predict", str(run_dir), str(text)], "predict")
    assert "no such image file" in _one_line_error(
        capsys, ["predict", str(run_dir), str(tmp_path / "none.png")], "predict")
    assert "--top must be >= 1" in _one_line_error(
        capsys, ["predict", str(run_dir), str(text), "--top", "0"], "predict")


def test_cli_defaults_are_the_library_defaults():
    from chainrule.cli import build_parser
    from chainrule.train.config import MODEL_DEFAULTS

    args = build_parser().parse_args(["train"])
    defaults = TrainConfig()
    for key, value in defaults.to_dict().items():
        if key in MODEL_DEFAULTS["mlp"]:  # epochs: 30, or the resumed run's
            assert getattr(args, key) is None, key  # None: the model's default
            assert MODEL_DEFAULTS["mlp"][key] == value, key
            continue
        assert getattr(args, key) == value, key


def test_help_lists_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    for option in ("--data", "--data-dir", "--hidden", "--activation", "--loss", "--optimizer",
                   "--lr", "--reg", "--lr-schedule", "--epochs", "--batch-size", "--dropout",
                   "--batchnorm", "--val-fraction", "--seed", "--out", "--resume",
                   "--features", "--augment"):
        assert option in out
    for command in ("evaluate", "predict"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "RUN" in capsys.readouterr().out


def test_features_are_stored_and_applied_by_predict(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "gabor"
    assert main(["train", "--features", "gabor", "--hidden", "16", "--epochs", "1",
                 "--augment", "none", "--quiet", "--out", str(out)]) == 0
    ckpt = load_checkpoint(out)
    assert ckpt.features is not None and ckpt.config["features"] == "gabor"
    ds = cr.data.load("digits")
    png = tmp_path / "d.png"
    Image.fromarray(ds.test_images[0][..., 0]).save(png)
    metrics = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    assert main(["predict", str(out), str(png), "--json"]) == 0
    pred = json.loads(capsys.readouterr().out)[0]["prediction"]
    from chainrule.train import evaluate_run

    ev = evaluate_run(out)
    assert pred == ev.class_names[ev.predictions[0]]
    assert ev.accuracy == metrics["test"]["accuracy"]


@pytest.mark.parametrize("options", [
    ["--batchnorm", "--loss", "svm", "--optimizer", "nesterov", "--lr-schedule", "step"],
    ["--optimizer", "rmsprop", "--lr-schedule", "invsqrt", "--activation", "tanh"],
    ["--optimizer", "adamw", "--lr", "0.01", "--lr-schedule", "linear", "--hidden", "32", "32"],
])
def test_options_train_and_reload_exactly(tmp_path, options):
    out = tmp_path / "run"
    assert main(["train", "--hidden", "16", "--epochs", "1", "--augment", "none", "--quiet",
                 "--out", str(out), *options]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.5  # one epoch; chance is 0.1
    from chainrule.train import evaluate_run

    # the reloaded checkpoint (batchnorm statistics included) predicts exactly the same
    assert evaluate_run(out).to_dict()["confusion_matrix"] == metrics["test"]["confusion_matrix"]


def test_image_folder_rgb_end_to_end(tmp_path, capsys):
    """An image folder of RGB PNGs: train on it, then predict a new file of another size."""
    from PIL import Image

    rng = np.random.default_rng(0)
    colors = {"red": (200, 30, 30), "blue": (30, 30, 200)}
    for split, n in (("train", 20), ("test", 6)):
        for name, rgb in colors.items():
            folder = tmp_path / "shapes" / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                noise = rng.integers(-40, 40, size=(12, 12, 3))
                img = np.clip(np.array(rgb) + noise, 0, 255).astype(np.uint8)
                Image.fromarray(img).save(folder / f"{i}.png")
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "shapes"), "--hidden", "8", "--epochs", "3",
                 "--quiet", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == 1.0
    assert load_checkpoint(out).image_shape == (12, 12, 3)
    Image.new("RGB", (40, 30), (220, 20, 20)).save(tmp_path / "new.jpg")
    capsys.readouterr()
    assert main(["predict", str(out), str(tmp_path / "new.jpg")]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'new.jpg'}: red")


def test_interrupt_prints_how_to_resume(tmp_path, capsys, monkeypatch):
    from chainrule.train import trainer as trainer_mod

    real = trainer_mod.Trainer._run_epoch
    calls = []

    def interrupt_second_epoch(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(trainer_mod.Trainer, "_run_epoch", interrupt_second_epoch)
    out = tmp_path / "cut"
    assert main(["train", "--hidden", "8", "--epochs", "3", "--augment", "none", "--quiet",
                 "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert f"chainrule train --resume {out}" in err and "interrupted" in err
    assert load_checkpoint(out).epoch == 1


@pytest.mark.slow
def test_train_on_real_mnist(shared_data, tmp_path):
    rc = main(["train", "--data", "mnist", "--data-dir", str(shared_data), "--hidden", "64",
               "--epochs", "1", "--batch-size", "128", "--quiet", "--out", str(tmp_path)])
    assert rc == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["test"]["num_examples"] == 10_000
    assert metrics["test"]["accuracy"] > 0.93  # one epoch of a small MLP; chance is 0.1


def test_device_option(run_dir, tmp_path, capsys):
    """--device: another device gives the CPU's results; cuda without CuPy is one line."""
    import importlib.util

    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert main(["evaluate", str(run_dir), "--device", "array_api_strict"]) == 0
    assert f"test accuracy: {metrics['test']['accuracy']:.2%}" in capsys.readouterr().out
    assert main(["train", "--epochs", "1", "--hidden", "16", "--quiet", "--device",
                 "array_api_strict", "--out", str(tmp_path / "strict")]) == 0
    assert "test accuracy" in capsys.readouterr().out
    assert main(["train", "--resume", str(tmp_path / "strict"), "--epochs", "2", "--quiet",
                 "--device", "array_api_strict"]) == 0  # --resume applies --device
    assert load_checkpoint(tmp_path / "strict").epoch == 2
    capsys.readouterr()
    if importlib.util.find_spec("cupy") is not None:
        return
    for argv in (["train", "--device", "cuda", "--out", str(tmp_path / "gpu")],
                 ["evaluate", str(run_dir), "--device", "cuda:0"],
                 ["predict", str(run_dir), "missing.png", "--device", "cuda"]):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "pip install 'chainrule[cuda12]'" in err, err
    assert not (tmp_path / "gpu").exists()


# ----------------------------------------------------------------------------- ConvNets
@pytest.fixture(scope="module")
def cnn_run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("cnn")
    cr.manual_seed(0)
    assert main(["train", "--model", "cnn", "--conv", "8", "pool", "16", "--epochs", "3",
                 "--batch-size", "32",
                 "--quiet", "--out", str(out)]) == 0
    return out


def test_convnet_run_folder(cnn_run_dir):
    metrics = json.loads((cnn_run_dir / "metrics.json").read_text())
    assert metrics["model"]["architecture"] == {
        "type": "ConvNet", "in_channels": 1, "num_classes": 10, "blocks": [8, "pool", 16],
        "batchnorm": True, "dropout": 0.0}
    assert metrics["config"]["optimizer"] == "nesterov" and metrics["config"]["model"] == "cnn"
    assert metrics["test"]["accuracy"] > 0.5  # 135 steps; a broken gradient gives ~10%
    html = (cnn_run_dir / "report.html").read_text()
    assert "First layer&#x27;s filters" in html or "First layer's filters" in html
    ckpt = load_checkpoint(cnn_run_dir)
    assert isinstance(ckpt.model, cr.nn.ConvNet) and ckpt.normalization["mean"].shape == (1,)
    assert type(ckpt.preprocessor()).__name__ == "ImagePreprocessor"


def test_convnet_run_evaluates_predicts_and_explains(cnn_run_dir, tmp_path, capsys):
    from PIL import Image

    metrics = json.loads((cnn_run_dir / "metrics.json").read_text())
    assert main(["evaluate", str(cnn_run_dir)]) == 0
    assert f"test accuracy: {metrics['test']['accuracy']:.2%}" in capsys.readouterr().out
    image = tmp_path / "digit.png"
    Image.fromarray(np.full((20, 20), 128, np.uint8)).save(image)
    assert main(["predict", str(cnn_run_dir), str(image), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)[0]["top"]) == 3
    svg = tmp_path / "g.svg"
    assert main(["explain", "--model", str(cnn_run_dir), "--image", str(image),
                 "--svg", str(svg)]) == 0
    out = capsys.readouterr().out
    assert "conv2d" in out and "(1, 8, 8, 8)" in out and "max_pool2d" in out
    assert "conv2d" in svg.read_text()


def test_convnet_run_resumes_exactly(tmp_path):
    cfg = TrainConfig(model="cnn", conv="4 pool 8", epochs=3, val_fraction=0.1)
    train_run(cfg, out=tmp_path / "full", progress=False)

    def crash_after_two(trainer, epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, out=tmp_path / "cut", progress=False, callbacks=(crash_after_two,))
    assert main(["train", "--resume", str(tmp_path / "cut"), "--quiet"]) == 0
    a = json.loads((tmp_path / "full" / "metrics.json").read_text())
    b = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert a["history"]["train_loss"] == b["history"]["train_loss"]
    assert a["test"] == b["test"]
