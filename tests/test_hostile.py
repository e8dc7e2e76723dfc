"""Hostile inputs (issue 16): each is refused with a message naming the file, key or address and
what to do, exit 2 (1 for a failed audit or verification), no traceback, nothing of the user's lost.

Kept fast: small recipes, physiology only, short timeouts.
"""
from __future__ import annotations

import json
import socket
import threading

import numpy as np
import pandas as pd
import pytest

from factory.cli import main
from factory.errors import FactoryError
from factory.recipe import load_yaml, parse_recipe, reserved_factor_names

TINY = """
name: tiny
seed: 5
size: 8
shard_size: 8
emotions: [neutral, anger]
population:
  sex: {female: 1, male: 1}
splits: {train: 1.0}
episode: {duration: 6, onset: 2}
modalities:
  physiology: {signals: [eda], sampling_rate: 64}
"""


def error_of(text: str) -> str:
    with pytest.raises(FactoryError) as exc:
        parse_recipe(text, source="r.yaml")
    return str(exc.value)


def run(capsys, *argv) -> tuple[int, str]:
    """(exit code, stdout + stderr) of the CLI, in this process (a traceback would fail the test)."""
    rc = main([str(a) for a in argv])
    out = capsys.readouterr()
    return rc, out.out + out.err


# ---------------------------------------------------------------- 5. seeds past 2**32

def test_a_seed_past_2_32_still_trains_the_audit_recognizer(small_dataset):
    from factory.audit import downstream_parity
    from factory.dataset import open_dataset
    from factory.recipe import AuditThresholds

    index = open_dataset(str(small_dataset)).index
    result = downstream_parity({"recipe": {"seed": 2**63 - 1}}, index, AuditThresholds())
    assert result["assessed"] is True


# ---------------------------------------------------------------- 6. non-finite numbers anywhere

@pytest.mark.parametrize("text, key", [
    ("emotions: {anger: .nan, fear: 1}\n", "emotions.anger"),
    ("emotions: {anger: .inf}\n", "emotions.anger"),
    ("population:\n  sex: {female: .nan, male: 1}\n", "population.sex.female"),
    ("splits: {train: .nan, test: 1}\n", "splits.train"),
    ("intensity: {min: .nan}\n", "intensity.min"),
    ("episode: {duration: -.inf}\n", "episode.duration"),
    ("audit: {max_fidelity_gap: .nan}\n", "audit.max_fidelity_gap"),
    ("population:\n  sex: {.nan: 1}\n", "population.sex"),
])
def test_non_finite_numbers_are_refused_by_key_and_line(text, key):
    msg = error_of("name: x\n" + text)
    assert key in msg and f"r.yaml:{1 + text.count(chr(10))}" in msg and "finite" in msg


@pytest.mark.parametrize("text, words", [
    ("size: true\n", "not true"),
    ("seed: yes\n", "not true"),
    ("population:\n  sex: {female: 1e308, male: 1e308}\n", "too large to add up"),
])
def test_numbers_that_are_not_numbers_are_refused(text, words):
    assert words in error_of("name: x\n" + text)


def test_non_finite_audit_thresholds_file_is_refused(tmp_path, capsys, small_dataset):
    th = tmp_path / "th.yaml"
    th.write_text("min_label_parity_ratio: .nan\n")
    rc, out = run(capsys, "audit", small_dataset, "--thresholds", th)
    assert rc == 2 and "th.yaml" in out and "min_label_parity_ratio" in out


# ---------------------------------------------------------------- 7. reserved factor names

@pytest.mark.parametrize("name", sorted(reserved_factor_names()))
def test_reserved_factor_names_are_refused_by_name(name):
    msg = error_of(f"name: x\npopulation:\n  {name}: {{a: 1, b: 1}}\n")
    assert f"factor name {name!r} is reserved" in msg


def test_every_field_a_sample_has_is_reserved(small_dataset):
    """The reserved list cannot drift: every plan column and top-level JSON key of a real sample is in it."""
    import tarfile

    from factory.plan import FIXED_COLUMNS

    manifest = json.loads((small_dataset / "manifest.json").read_text())
    population = set(manifest["recipe"]["population"])
    with tarfile.open(next(small_dataset.glob("*.tar"))) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith(".json"))
        sample = json.loads(tar.extractfile(member).read())
    own = (set(sample) | set(FIXED_COLUMNS)) - population
    assert own <= reserved_factor_names()


# ---------------------------------------------------------------- 11. hostile YAML

BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))


def test_alias_bomb_is_refused_at_load():
    with pytest.raises(FactoryError, match="billion laughs"):
        load_yaml(BOMB, "bomb.yaml")


@pytest.mark.parametrize("text, words", [
    ("a: &x\n  - *x\n", "contains it"),
    ("a: " + "[" * 200 + "]" * 200 + "\n", "nested"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
    ("? [a, b]\n: 1\n", "plain value"),
    ("name: x\n" + "# padding\n" * 120_000, "too large"),
])
def test_hostile_yaml_shapes_are_refused(text, words):
    with pytest.raises(FactoryError, match=words):
        parse_recipe(text, source="h.yaml")


def test_aliases_within_the_limits_still_work():
    r = parse_recipe("name: x\nsize: 8\nemotions: &e {anger: 1, fear: 1}\naudit: {}\n", source="ok.yaml")
    assert list(r.emotions) == ["anger", "fear"]


# ---------------------------------------------------------------- 12. a scheduler that is not one

def _serve(handler) -> int:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held = []

    def loop():
        while True:
            conn, _ = server.accept()
            held.append(conn)
            handler(conn)

    threading.Thread(target=loop, daemon=True).start()
    return server.getsockname()[1]


@pytest.mark.parametrize("handler, words", [
    (lambda conn: None, "nothing answered"),
    (lambda conn: conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" * 4), "does not speak Dask"),
])
def test_a_scheduler_that_never_answers_or_speaks_http_fails_fast(monkeypatch, handler, words):
    from factory import execute

    monkeypatch.setattr(execute, "SCHEDULER_TIMEOUT_S", 1)
    port = _serve(handler)
    with pytest.raises(FactoryError, match=words) as exc:
        execute.connect(f"127.0.0.1:{port}", 1)
    assert f"127.0.0.1:{port}" in str(exc.value)


def test_a_closed_scheduler_port_is_named(monkeypatch):
    from factory import execute

    monkeypatch.setattr(execute, "SCHEDULER_TIMEOUT_S", 1)
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with pytest.raises(FactoryError, match=f"cannot reach a Dask scheduler at tcp://127.0.0.1:{port}"):
        execute.connect(f"tcp://127.0.0.1:{port}", 1)


# ---------------------------------------------------------------- 13. sizes that cannot be planned

def test_a_plan_that_cannot_fit_in_memory_is_refused_before_it_starts(tmp_path, capsys):
    (tmp_path / "huge.yaml").write_text("name: huge\nsize: 1000000000000\n")
    rc, out = run(capsys, "plan", tmp_path / "huge.yaml", "--out", tmp_path / "p.parquet")
    assert rc == 2 and "size" in out and "GB" in out and "at most" in out
    assert not (tmp_path / "p.parquet").exists()


def test_plan_cost_grows_with_size_and_the_refusal_names_the_largest_size():
    from factory.plan import check_plan_fits, plan_cost

    assert plan_cost(2_000_000).bytes == 2 * plan_cost(1_000_000).bytes
    available = plan_cost(10_000).bytes // 2
    with pytest.raises(FactoryError, match=r"at most [\d,]+") as exc:
        check_plan_fits(10_000, available=available)
    most = int(str(exc.value).split("at most ")[1].split(",  ")[0].split(", or")[0].replace(",", ""))
    assert 1_000 < most < 10_000
    check_plan_fits(most, available=available)              # the size it names does fit
    with pytest.raises(FactoryError):
        check_plan_fits(most + 100, available=available)


def test_large_plans_report_their_steps():
    from factory.plan import make_plan
    from factory.recipe import Recipe

    steps = []
    make_plan(Recipe.model_validate({"size": 300, "balance": []}), progress=lambda s, d, t: steps.append((s, d, t)))
    names = [s for s, _, _ in steps]
    assert names[0] == "quotas" and "sample seeds" in names and steps[-1][1] == steps[-1][2] == 300


# ---------------------------------------------------------------- 14. features listings

@pytest.fixture
def recording(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "rec.npy", rng.standard_normal((2, 64 * 20)))
    return tmp_path


@pytest.mark.parametrize("row, words", [
    ({"sampling_rate": 0}, "sampling_rate must be a positive"),
    ({"sampling_rate": ""}, "sampling_rate must be a positive"),
    ({"sampling_rate": "fast"}, "sampling_rate must be a number"),
    ({"sampling_rate": 64, "start": 15, "duration": 10}, "not inside the recording"),
    ({"sampling_rate": 64, "start": -2}, "not inside the recording"),
    ({"sampling_rate": 64, "onset": 30}, "onset"),
])
def test_bad_feature_rows_are_named(recording, capsys, row, words):
    listing = recording / "list.csv"
    good = {"file": "rec.npy", "channels": "eda+rsp", "sampling_rate": 64, "emotion": "anger"}
    pd.DataFrame([good, {**good, **row}]).to_csv(listing, index=False)
    rc, out = run(capsys, "features", listing, "--out", recording / "f.parquet")
    assert rc == 2 and "list.csv row 2" in out and words in out
    assert not (recording / "f.parquet").exists()


def test_a_pickled_recording_is_refused_not_loaded(tmp_path, capsys):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    pd.DataFrame([{"file": "obj.npy", "channels": "eda", "sampling_rate": 64}]).to_csv(tmp_path / "l.csv", index=False)
    rc, out = run(capsys, "features", tmp_path / "l.csv", "--out", tmp_path / "f.parquet")
    assert rc == 2 and "row 1" in out and "obj.npy" in out and "pickled" in out


# ---------------------------------------------------------------- 15. complement labels

def _complement(tmp_path, csv_text: str, extra: str = "", size="auto") -> str:
    (tmp_path / "real.csv").write_text(csv_text)
    (tmp_path / "r.yaml").write_text(
        f"name: c\nsize: {size}\nemotions: [anger, fear]\npopulation: {{sex: {{female: 1, male: 1}}}}\n"
        f"balance: [[emotion, sex]]\nsplits: {{train: 1.0}}\ncomplement:\n  path: real.csv\n{extra}")
    return str(tmp_path / "r.yaml")


def test_two_columns_mapped_to_one_factor_are_named(tmp_path, capsys):
    recipe = _complement(tmp_path, "emotion,label,sex\nanger,fear,male\n", "  columns: {label: emotion}\n")
    rc, out = run(capsys, "plan", recipe, "--out", tmp_path / "p.parquet")
    assert rc == 2 and "two 'emotion' columns" in out and "label" in out


def test_a_header_only_labels_file_is_refused(tmp_path, capsys):
    recipe = _complement(tmp_path, "emotion,sex\n")
    rc, out = run(capsys, "plan", recipe, "--out", tmp_path / "p.parquet")
    assert rc == 2 and "real.csv has no rows" in out and "size: auto" in out


def test_the_suggested_value_mapping_works_as_written(tmp_path, capsys):
    csv = "emotion,sex\n" + "0,female\n1,male\n" * 5
    rc, out = run(capsys, "plan", _complement(tmp_path, csv), "--out", tmp_path / "p.parquet")
    assert rc == 2 and "complement.values" in out
    suggestion = out.split("e.g. `complement.values: ", 1)[1].split("`", 1)[0]
    mapping = {"emotion": {**load_yaml(suggestion, "s")[0]["emotion"], "1": "fear"}}
    values = "  values: " + json.dumps(mapping) + "\n"
    rc, out = run(capsys, "plan", _complement(tmp_path, csv, values), "--out", tmp_path / "p.parquet")
    assert rc == 0, out
    numeric = "  values: {emotion: {0: anger, 1: fear}}\n"        # unquoted codes work too
    rc, out = run(capsys, "plan", _complement(tmp_path, csv, numeric), "--out", tmp_path / "p.parquet")
    assert rc == 0, out


def test_rows_without_a_label_are_named(tmp_path, capsys):
    recipe = _complement(tmp_path, "emotion,sex\nanger,female\n,male\n")
    rc, out = run(capsys, "plan", recipe, "--out", tmp_path / "p.parquet")
    assert rc == 2 and "without a 'emotion' value" in out and "row 2" in out


# ---------------------------------------------------------------- 16 (parts). URLs, age bands

@pytest.mark.parametrize("url, words", [
    ("s3://bucket/ds", "s3fs"),
    ("nosuch://bucket/ds", "Protocol not known: nosuch"),
])
def test_unusable_output_urls_are_named(tmp_path, capsys, url, words):
    (tmp_path / "t.yaml").write_text(TINY)
    pytest.importorskip("fsspec")
    if url.startswith("s3://"):
        try:
            import s3fs  # noqa: F401
            pytest.skip("s3fs is installed here")
        except ImportError:
            pass
    rc, out = run(capsys, "generate", tmp_path / "t.yaml", "--out", url, "--no-progress")
    assert rc == 2 and url in out and words in out


@pytest.mark.parametrize("band", ["999+", "101+", "18-130"])
def test_age_bands_outside_human_ages_are_refused(band):
    assert "outside human ages" in error_of(f'population:\n  age_band: {{"{band}": 1}}\n')


def test_messages_with_brackets_print_as_written(capsys):
    rc, out = run(capsys, "validate", "/nonexistent/[/x]/r.yaml")
    assert rc == 2 and "[/x]" in out


# ---------------------------------------------------------------- 17. empty recipes, fair defaults, exit codes

@pytest.mark.parametrize("text", ["", "# only a comment\n", "{}\n", "---\n"])
def test_an_empty_recipe_is_refused(tmp_path, capsys, text):
    (tmp_path / "e.yaml").write_text(text)
    rc, out = run(capsys, "validate", tmp_path / "e.yaml")
    assert rc == 2 and "e.yaml" in out and "empty" in out


def test_the_defaults_balance_emotion_against_every_population_factor():
    from factory.audit import label_parity
    from factory.plan import make_plan
    from factory.recipe import AuditThresholds

    recipe = parse_recipe("name: defaults\n")
    assert recipe.balance == [["emotion", f] for f in recipe.population]
    plan = make_plan(recipe)
    result = label_parity({"recipe": recipe.resolved()}, plan.samples, AuditThresholds())
    judged = [c for c in result["checks"] if c["judged"]]
    assert judged and all(c["passed"] for c in judged)
    assert parse_recipe("name: x\nbalance: []\n").balance == []


def test_generate_exits_1_when_its_audit_fails(tmp_path, capsys):
    # Ten samples cannot be spread evenly over 2 emotions x 2 sexes... with 3 sexes; parity 1.0 is asked.
    recipe = TINY.replace("size: 8", "size: 10").replace("{female: 1, male: 1}", "{female: 1, male: 1, intersex: 1}")
    (tmp_path / "a.yaml").write_text(recipe + "audit: {min_label_parity_ratio: 1.0, min_group_size: 1}\n")
    rc, out = run(capsys, "generate", tmp_path / "a.yaml", "--out", tmp_path / "ds", "--no-progress")
    assert rc == 1 and "threshold(s) broken" in out
    assert json.loads((tmp_path / "ds" / "manifest.json").read_text())["complete"] is True


def test_a_refused_out_folder_gets_nothing_written_into_it(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(TINY)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("my notes")
    rc, out = run(capsys, "generate", tmp_path / "t.yaml", "--out", mine, "--no-progress")
    assert rc == 2 and str(mine) in out and "not empty" in out
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


# ---------------------------------------------------------------- 16. a full disk

def test_a_full_disk_names_the_folder_and_how_to_resume(tmp_path, capsys, monkeypatch):
    import errno

    from factory import execute

    (tmp_path / "t.yaml").write_text(TINY.replace("shard_size: 8", "shard_size: 4"))
    real_write = execute.write_shard
    calls = []

    def fills_up(fs, root, name, samples):
        calls.append(name)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fs, root, name, samples)

    monkeypatch.setattr(execute, "write_shard", fills_up)
    out = tmp_path / "ds"
    rc, text = run(capsys, "generate", tmp_path / "t.yaml", "--out", out, "--no-progress")
    assert rc == 2 and str(out) in text and "No space left" in text and "--resume" in text
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    monkeypatch.setattr(execute, "write_shard", real_write)
    rc, text = run(capsys, "generate", tmp_path / "t.yaml", "--out", out, "--no-progress", "--resume")
    assert rc == 0, text
    assert json.loads((out / "manifest.json").read_text())["complete"] is True


# ---------------------------------------------------------------- 10. rc 134 at exit

def test_readers_parse_parquet_on_the_calling_thread(small_dataset, monkeypatch):
    """pyarrow's threaded reader (read_table) can abort the process at exit; readers must not use it."""
    import pyarrow.parquet as pq

    from factory.dataset import open_dataset, verify

    def threaded(*args, **kwargs):
        raise AssertionError("pq.read_table reads on pyarrow's thread pools")

    monkeypatch.setattr(pq, "read_table", threaded)
    real_read = pq.ParquetFile.read

    def read(self, *args, **kwargs):
        assert kwargs.get("use_threads") is False
        return real_read(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read", read)
    assert verify(str(small_dataset)) == []
    assert len(open_dataset(str(small_dataset)).index) == 28


# ---------------------------------------------------------------- 2. one writer per output folder

def test_a_second_writer_is_refused_naming_the_first(tmp_path):
    import os

    from factory.dataset import open_dir
    from factory.lock import acquire

    fs, root = open_dir(str(tmp_path / "ds"))
    with acquire(fs, root):
        with pytest.raises(FactoryError, match=f"another run is writing this dataset \\(pid {os.getpid()}"):
            acquire(fs, root)
    with acquire(fs, root) as again:          # released: free again
        assert again.note is None


def test_a_stale_lock_is_taken_over_with_a_note(tmp_path):
    from factory.dataset import open_dir
    from factory.lock import acquire

    fs, root = open_dir(str(tmp_path / "ds"))
    first = acquire(fs, root)
    second = acquire(fs, root, alive=lambda pid: False)     # as if the first run had been killed
    assert "stale lock" in second.note
    first.release()                                        # not its lock any more: left alone
    with pytest.raises(FactoryError, match="another run"):
        acquire(fs, root)
    second.release()


# ---------------------------------------------------------------- 4. publish uploads what the manifest lists

def test_publish_lists_only_the_datasets_files(small_dataset, tmp_path, capsys):
    import shutil

    from factory.dataset import open_dataset
    from factory.publish import plan_publish

    folder = tmp_path / "pub"
    shutil.copytree(small_dataset, folder)
    (folder / ".env").write_text("HF_TOKEN=hf_secretsecretsecretsecret\n")
    (folder / "notes.txt").write_text("mine")
    plan = plan_publish(open_dataset(str(folder)), repo_id="lab/x")
    names = [f for f, _ in plan.files]
    assert ".env" not in names and "notes.txt" not in names and not any(n.startswith(".factory") for n in names)
    assert {"manifest.json", "index.parquet", "README.md"} <= set(names)
    assert any(".env" in n and "notes.txt" in n for n in plan.notes)
    rc, out = run(capsys, "publish", folder, "--repo-id", "lab/x", "--dry-run")
    assert "hf_secret" not in out and ".env" in out          # named as left out, never read


def test_publish_refuses_a_symlink_in_the_dataset(small_dataset, tmp_path, capsys):
    import shutil

    folder = tmp_path / "pub"
    shutil.copytree(small_dataset, folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the Hub")
    (folder / "datasheet.md").unlink()
    (folder / "datasheet.md").symlink_to(secret)
    rc, out = run(capsys, "publish", folder, "--repo-id", "lab/x", "--dry-run")
    assert rc == 2 and "datasheet.md is a symbolic link" in out


# ---------------------------------------------------------------- more of the same classes

@pytest.mark.parametrize("workers", ["0", "100000"])
def test_worker_counts_outside_the_machine_are_refused(tmp_path, capsys, workers):
    (tmp_path / "t.yaml").write_text(TINY)
    rc, out = run(capsys, "generate", tmp_path / "t.yaml", "--out", tmp_path / "ds", "--workers", workers)
    assert rc == 2 and f"--workers {workers}" in out and not (tmp_path / "ds").exists()


def test_a_device_is_not_read_as_a_recipe(capsys):
    rc, out = run(capsys, "validate", "/dev/zero")
    assert rc == 2 and "/dev/zero" in out and "not a regular file" in out


def test_the_thresholds_file_gets_the_recipe_yaml_limits(small_dataset, tmp_path, capsys):
    (tmp_path / "bomb.yaml").write_text(BOMB)
    rc, out = run(capsys, "audit", small_dataset, "--thresholds", tmp_path / "bomb.yaml")
    assert rc == 2 and "bomb.yaml" in out and "billion laughs" in out


# ---------------------------------------------------------------- 1. only the factory's manifest makes a dataset

def _copy(dataset, tmp_path, name="copy"):
    import shutil

    folder = tmp_path / name
    shutil.copytree(dataset, folder)
    return folder


def test_a_folder_with_someone_elses_manifest_is_never_a_dataset(tmp_path, capsys):
    (tmp_path / "t.yaml").write_text(TINY)
    app = tmp_path / "webapp"
    (app / "plots").mkdir(parents=True)
    mine = {"manifest.json": '{"name": "my web app", "icons": []}', "README.md": "# mine", "audit.md": "mine",
            "plots/a.png": "png"}
    for name, text in mine.items():
        (app / name).write_text(text)
    for extra in ([], ["--force"], ["--resume"]):
        rc, out = run(capsys, "generate", tmp_path / "t.yaml", "--out", app, "--no-progress", *extra)
        assert rc == 2 and "not empty" in out and "manifest.json" in out and "--force" not in out
    assert {str(p.relative_to(app)): p.read_text() for p in app.rglob("*") if p.is_file()} == mine
    assert not (app / ".factory").exists()
    for command in ("verify", "audit", "card"):
        rc, out = run(capsys, command, app)
        assert rc == 2 and "not an affect-factory dataset" in out


# ---------------------------------------------------------------- 8. a damaged manifest

@pytest.mark.parametrize("damage, words", [
    (lambda text: text[: len(text) // 2], "not valid JSON"),
    (lambda text: json.dumps({**json.loads(text), "index": None}), "index"),
    (lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "shards"}), "shards"),
    (lambda text: json.dumps({**json.loads(text), "shards": {"../../x.tar": {"count": 1, "size": 1, "sha256": "0" * 64,
                                                                              "split": "train"}}}), "shards"),
])
def test_a_damaged_manifest_is_named_and_force_recovers(small_dataset, small_recipe_path, tmp_path, capsys,
                                                        damage, words):
    folder = _copy(small_dataset, tmp_path)
    (folder / "notes.md").write_text("mine")
    manifest = folder / "manifest.json"
    manifest.write_text(damage(manifest.read_text()))
    for argv in (["verify", folder], ["audit", folder], ["card", folder], ["report", folder],
                 ["publish", folder, "--repo-id", "a/b", "--dry-run"],
                 ["generate", small_recipe_path, "--out", folder, "--resume", "--no-progress"],
                 ["generate", small_recipe_path, "--out", folder, "--no-progress"]):
        rc, out = run(capsys, *argv)
        assert rc == 2 and "manifest.json" in out and words in out, (argv, out)
    rc, out = run(capsys, "generate", small_recipe_path, "--out", folder, "--force", "--no-progress")
    assert rc in (0, 1), out
    assert json.loads(manifest.read_text())["complete"] is True
    assert (folder / "notes.md").read_text() == "mine"


# ---------------------------------------------------------------- 3. every reader checks the dataset

def test_readers_refuse_a_changed_index_and_an_unfinished_dataset(small_dataset, tmp_path, capsys):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = _copy(small_dataset, tmp_path)
    index = pq.read_table(folder / "index.parquet").to_pandas()
    index.loc[0, "emotion"] = "fear" if index.loc[0, "emotion"] != "fear" else "anger"    # decodes fine
    pq.write_table(pa.Table.from_pandas(index, preserve_index=False), folder / "index.parquet")
    for argv in (["evaluate", "--real", folder, "--synthetic", small_dataset, "--out", tmp_path / "ev"],
                 ["audit", folder], ["preview", folder], ["card", folder]):
        rc, out = run(capsys, *argv)
        assert rc == 2 and "index.parquet does not match the checksum" in out, (argv, out)
    rc, out = run(capsys, "verify", folder)
    assert rc == 1 and "index.parquet: SHA-256 differs" in out

    unfinished = _copy(small_dataset, tmp_path, "unfinished")
    manifest = json.loads((unfinished / "manifest.json").read_text())
    (unfinished / "manifest.json").write_text(json.dumps({**manifest, "complete": False}))
    recipe = tmp_path / "c.yaml"
    recipe.write_text(TINY + f"complement: {{path: {unfinished}}}\n".replace("size: 8", "size: 40"))
    rc, out = run(capsys, "plan", recipe, "--out", tmp_path / "p.parquet")
    assert rc == 2 and "unfinished" in out and str(unfinished) in out


# ---------------------------------------------------------------- 9. verify names what it found

def test_verify_reports_a_damaged_index_before_parsing_it(small_dataset, tmp_path, capsys):
    folder = _copy(small_dataset, tmp_path)
    data = bytearray((folder / "index.parquet").read_bytes())
    data[len(data) // 2] ^= 0xFF
    data[-12] ^= 0xFF                      # the footer too: the file no longer opens as Parquet
    (folder / "index.parquet").write_bytes(bytes(data))
    rc, out = run(capsys, "verify", folder)
    assert rc == 1 and "index.parquet: SHA-256 differs" in out and "cannot be read as Parquet" in out


# ---------------------------------------------------------------- 16 (rest). tar members, truncated faces, resume

def test_verify_checks_tar_members_against_the_index(small_dataset, tmp_path, capsys):
    import hashlib
    import io
    import tarfile

    folder = _copy(small_dataset, tmp_path)
    shard = sorted(folder.glob("*.tar"))[0]
    data = shard.read_bytes()
    buf = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as src, tarfile.open(fileobj=buf, mode="w") as dst:
        for m in src.getmembers():
            dst.addfile(m, src.extractfile(m))
        evil = tarfile.TarInfo("../../evil.txt")
        evil.size = 4
        dst.addfile(evil, io.BytesIO(b"evil"))
    shard.write_bytes(buf.getvalue())
    manifest = json.loads((folder / "manifest.json").read_text())     # the attacker fixes the checksum too
    manifest["shards"][shard.name].update(size=len(buf.getvalue()), sha256=hashlib.sha256(buf.getvalue()).hexdigest())
    (folder / "manifest.json").write_text(json.dumps(manifest))
    rc, out = run(capsys, "verify", folder)
    assert rc == 1 and "'../../evil.txt' is not in the index" in out


def test_a_broken_face_in_a_shard_is_named_by_preview(multimodal, tmp_path, capsys):
    import pandas as pd

    folder = _copy(multimodal, tmp_path)
    index = pd.read_parquet(folder / "index.parquet")
    row = index.sort_values("key").iloc[0]
    shard = folder / row["shard"]
    data = bytearray(shard.read_bytes())
    start = int(row["tar_offset.png"])
    data[start:start + 64] = bytes(64)     # same size, so only the image is broken
    shard.write_bytes(bytes(data))
    rc, out = run(capsys, "preview", folder)
    assert rc == 2 and row["shard"] in out and row["key"] in out and "not a readable PNG" in out


def test_resume_on_a_full_disk_never_demotes_a_finished_dataset(small_dataset, small_recipe_path, tmp_path,
                                                               capsys, monkeypatch):
    import errno

    from factory import dataset, shards
    from factory import folder as folder_module

    folder = _copy(small_dataset, tmp_path)
    before = (folder / "manifest.json").read_bytes()
    real_put = shards.put_atomic

    def nearly_full(fs, root, data, final, name):      # room for a small manifest, not for anything else
        if name != "manifest.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_put(fs, root, data, final, name)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    for module in (shards, folder_module, dataset):
        monkeypatch.setattr(module, "put_atomic", nearly_full)
    monkeypatch.setattr(folder_module, "build_index", full)
    rc, out = run(capsys, "generate", small_recipe_path, "--out", folder, "--resume", "--no-progress")
    assert rc == 2 and "No space left" in out and str(folder) in out
    assert (folder / "manifest.json").read_bytes() == before
    assert json.loads(before)["complete"] is True


def test_generate_refuses_a_folder_another_run_is_writing(tmp_path, capsys):
    import os

    from factory.dataset import open_dir
    from factory.lock import acquire

    (tmp_path / "t.yaml").write_text(TINY)
    out = tmp_path / "ds"
    fs, root = open_dir(str(out))
    with acquire(fs, root):
        rc, text = run(capsys, "generate", tmp_path / "t.yaml", "--out", out, "--no-progress")
    assert rc == 2 and f"pid {os.getpid()}" in text and "another run is writing" in text
    assert not (out / "manifest.json").exists()
    rc, text = run(capsys, "generate", tmp_path / "t.yaml", "--out", out, "--no-progress")   # released: free
    assert rc in (0, 1), text


@pytest.mark.slow
def test_two_concurrent_runs_into_one_folder(tmp_path):
    """Two processes, two recipes, one new --out: exactly one writes the dataset, the other refuses."""
    import subprocess
    import sys
    import time

    out = tmp_path / "ds"
    procs = []
    for name, seed in (("a", 1), ("b", 2)):
        recipe = tmp_path / f"{name}.yaml"
        recipe.write_text(TINY.replace("seed: 5", f"seed: {seed}").replace("size: 8", "size: 24")
                          .replace("name: tiny", f"name: run-{name}"))
        procs.append(subprocess.Popen([sys.executable, "-m", "factory", "generate", str(recipe), "--out", str(out),
                                       "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        time.sleep(0.5)
    results = [(p.wait(timeout=300), p.stdout.read()) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes[1] == 2 and codes[0] in (0, 1), results
    loser = next(text for rc, text in results if rc == 2)
    assert "another run is writing" in loser or "already holds" in loser
    manifest = json.loads((out / "manifest.json").read_text())
    winner = "run-a" if results[0][0] != 2 else "run-b"
    assert manifest["name"] == winner and manifest["complete"] is True
    from factory.dataset import verify
    assert verify(str(out)) == []


def test_the_lock_works_where_exclusive_create_is_not_offered(tmp_path, monkeypatch):
    from factory.dataset import open_dir
    from factory.lock import acquire

    fs, root = open_dir(str(tmp_path / "ds"))
    real_open = fs.open

    def no_xb(path, mode="rb", **kw):
        if mode == "xb":
            raise ValueError("mode xb not supported")
        return real_open(path, mode, **kw)

    monkeypatch.setattr(fs, "open", no_xb)
    with acquire(fs, root):
        with pytest.raises(FactoryError, match="another run"):
            acquire(fs, root)
