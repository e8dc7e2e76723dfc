"""report.html: offline, self-contained; rendered in headless Chromium (Debian `chromium`)."""
from __future__ import annotations

import os
import re
import shutil
import tempfile

import pytest

from factory.cli import main

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage")
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail("Debian chromium + chromium-driver are not installed; run `make system`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}"):
        opts.add_argument(flag)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)


STATE = """
const done = Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1 || a.error);
return {done: done,
  images: Array.from(document.images).map(i => ({alt: i.alt, ok: i.complete && i.naturalWidth > 0})),
  audio: Array.from(document.querySelectorAll('#samples audio')).map(a => ({ready: a.readyState, duration: a.duration,
                                                                  error: a.error ? a.error.code : null})),
  voice: Array.from(document.querySelectorAll('#voice tr.voice')).map(r => ({
      emotion: r.cells[0].textContent.split(' ')[0],
      ready: r.querySelector('audio').readyState, error: r.querySelector('audio').error,
      lines: r.querySelectorAll('svg.contour polyline').length})),
  rows: document.querySelectorAll('#samples tr.sample').length,
  svgs: document.querySelectorAll('svg.signals polyline').length,
  external: Array.from(document.querySelectorAll('[src]')).map(e => e.getAttribute('src'))
                 .filter(s => !s.startsWith('data:')).length};
"""


@pytest.mark.slow
def test_report_renders_faces_players_and_plots_in_chromium(multimodal):
    html = (multimodal / "report.html").read_text()
    assert not re.search(r'src="(?!data:)', html), "every src must be inline"
    driver = browser()
    try:
        driver.get((multimodal / "report.html").as_uri())
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(driver, 20).until(lambda d: d.execute_script(STATE)["done"])
        state = driver.execute_script(STATE)
    finally:
        driver.quit()
    assert state["rows"] == 8 and state["external"] == 0
    faces = [i for i in state["images"] if i["alt"].endswith(".png")]
    plots = [i for i in state["images"] if not i["alt"].endswith(".png")]
    assert len(faces) == 8 and all(i["ok"] for i in faces)
    assert {i["alt"] for i in plots} == {"representation", "label_parity", "fidelity", "downstream"}
    assert all(i["ok"] for i in plots)
    assert len(state["audio"]) == 8
    assert all(a["error"] is None and a["ready"] >= 1 and a["duration"] > 0.5 for a in state["audio"])
    assert state["svgs"] == 8 * 2  # ecg + eda per sample
    # one person's voice, neutral first, then their other emotions, each with its measured F0 contour
    voice = state["voice"]
    assert len(voice) >= 2 and voice[0]["emotion"] == "neutral"
    assert len({v["emotion"] for v in voice}) == len(voice)
    assert all(v["error"] is None and v["ready"] >= 1 and v["lines"] >= 1 for v in voice)


def test_report_command_on_physiology_only(small_dataset, tmp_path, capsys):
    copy = tmp_path / "ds"
    shutil.copytree(small_dataset, copy)
    (copy / "report.html").unlink()
    assert main(["report", str(copy)]) == 0
    html = (copy / "report.html").read_text()
    assert html.count('class="sample"') == 4 * 3  # 3 per emotion, 4 emotions
    assert "<audio" not in html and 'class="face"' not in html and 'id="voice"' not in html
    assert html.count('<svg class="signals"') == 12 and "Art. 5(1)(f)" in html
    assert html.count("data:image/png;base64,") == 4  # the audit plots
