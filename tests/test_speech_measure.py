"""The speech measures (eGeMAPS-style, YIN) on signals whose answer is known, YIN against pyin on
the same clips, and the emotion stage moving each measure it claims to move."""
from __future__ import annotations

import numpy as np
import pytest

from factory.speech import espeak_ng
from factory.speech.emotion_stage import Voice, emotion_stage
from factory.speech.espeak_generator import VoiceIdentity, utterance
from factory.speech.measure import SR, f0_contour, ipa_syllables, speech_measure
from factory.speech.prosody import Ratios
from factory.speech.text import banks
from factory.speech.voice_quality import spectral_balance

RNG = np.random.default_rng(3)


def pulse_train(f0: float, seconds: float, jitter: float = 0.0, shimmer_db: float = 0.0) -> np.ndarray:
    """Glottal-like pulses (each a decaying 700 Hz resonance) at period 1/f0 with Gaussian period
    jitter (fraction) and amplitude shimmer (dB s.d.)."""
    out = np.zeros(int(seconds * SR) + SR // 10)
    t = 0.01
    while t < seconds:
        i = int(np.ceil(t * SR))
        n = i + np.arange(160) - t * SR                  # samples since the pulse, sub-sample exact
        out[i:i + 160] += np.exp(-n / 25.0) * np.sin(2 * np.pi * 700 * n / SR) * 10 ** (RNG.normal(0, shimmer_db) / 20)
        t += (1 + RNG.normal(0, jitter)) / f0
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def test_f0_level_and_duration_of_a_tone():
    t = np.arange(int(1.5 * SR)) / SR
    tone = 0.1 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t) ** 2)
    m = speech_measure(tone.astype(np.float32), SR)
    assert m["f0_mean_hz"] == pytest.approx(150, abs=2)
    assert m["f0_sd_st"] < 0.1 and m["f0_range_st"] < 0.3
    assert m["duration_s"] == pytest.approx(1.5, abs=0.05)
    assert -26 < m["level_db"] < -20   # a 0.1-amplitude sine is -23 dBFS, modulated
    assert m["hnr_db"] > 20            # a pure tone is all harmonic


def test_hnr_follows_the_signal_to_noise_ratio():
    t = np.arange(2 * SR) / SR
    tone = np.sin(2 * np.pi * 180 * t)
    for snr in (5.0, 15.0):
        noise = RNG.normal(0, np.sqrt(0.5 / 10 ** (snr / 10)), t.size)
        m = speech_measure((0.1 * (tone + noise)).astype(np.float32), SR)
        assert m["hnr_db"] == pytest.approx(snr, abs=2.5), (snr, m["hnr_db"])


def test_jitter_and_shimmer_of_pulse_trains_with_known_perturbation():
    clean = speech_measure(pulse_train(120, 2.0), SR)
    rough = speech_measure(pulse_train(120, 2.0, jitter=0.02, shimmer_db=1.0), SR)
    assert clean["jitter_pct"] < 0.3 and clean["shimmer_db"] < 0.2
    # local jitter of independent Gaussian periods: E|T_i - T_{i-1}| / T = 2/sqrt(pi) * s.d. = 2.26 %
    assert rough["jitter_pct"] == pytest.approx(2.26, rel=0.3)
    # local shimmer: E|dB_i - dB_{i-1}| = 2/sqrt(pi) * 1 dB = 1.13 dB
    assert rough["shimmer_db"] == pytest.approx(1.13, rel=0.3)


def test_alpha_ratio_and_hammarberg_of_white_and_darkened_noise():
    white = RNG.normal(0, 0.1, (40, 512))
    alpha, hammarberg = spectral_balance(white, SR)
    assert alpha == pytest.approx(10 * np.log10(4000 / 950), abs=0.5)   # energy in proportion to bandwidth
    assert abs(hammarberg) < 3
    dark = np.cumsum(white, axis=1) * 0.05                                 # -6 dB/octave
    a2, h2 = spectral_balance(dark - dark.mean(axis=1, keepdims=True), SR)
    assert a2 < alpha - 10 and h2 > hammarberg + 8


def test_syllables_of_ipa():
    assert ipa_syllables("ðə tʃˈɛɹ ɪz stˈændɪŋ nˈɛkst tə ðə wˈɪndoʊ") == 10
    assert ipa_syllables("wiː ɑːɹ ɡˌoʊɪŋ") == 4          # long vowels and diphthongs count once
    assert ipa_syllables("") == 0


@pytest.fixture(scope="module")
def clips():
    """Neutral and emotional eSpeak NG renderings, female and male, at 16 kHz."""
    import librosa
    calls = [utterance("en-us", VoiceIdentity(v, 1.0, 1.0, 1.0), line, r)
             for v in ("f3", "m3") for line in banks()["neutral"]["en"][:2]
             for r in (Ratios(1, 1, 1, 0), Ratios(1.4, 1.8, 1.2, 0))]
    return [librosa.resample(np.frombuffer(b, dtype="<i2").astype(np.float32) / 32768, orig_sr=22050, target_sr=SR)
            for b in espeak_ng.synthesize(calls)]


def test_yin_agrees_with_pyin_on_the_same_clips(clips):
    import librosa
    for y in clips:
        c = f0_contour(y, SR)
        f0, voiced, _ = librosa.pyin(y, fmin=50, fmax=700, sr=SR, frame_length=1024, hop_length=160)
        n = min(f0.size, c.f0.size)
        both = voiced[:n] & c.voiced[:n]
        assert both.sum() >= 0.85 * max(voiced[:n].sum(), c.voiced[:n].sum())       # voicing agrees
        diff = 12 * np.log2(c.f0[:n][both] / f0[:n][both])
        assert np.median(np.abs(diff)) < 0.3                                       # semitones, frame by frame
        st_yin, st_pyin = 12 * np.log2(c.f0[c.voiced]), 12 * np.log2(f0[voiced])
        assert abs(st_yin.mean() - st_pyin.mean()) < 0.3
        assert abs(st_yin.std() - st_pyin.std()) < 0.35


def test_stage_moves_what_it_claims(clips):
    y = clips[2]                                           # male, neutral
    rng = np.random.default_rng(0)
    base = speech_measure(emotion_stage(y, SR, Voice(), rng), SR)
    up = speech_measure(emotion_stage(y, SR, Voice(f0_mean_hz=base["f0_mean_hz"] * 2 ** (5 / 12),
                                                   f0_sd_st=1.6 * base["f0_sd_st"], level_db=-22.0), rng), SR)
    assert up["f0_mean_st"] - base["f0_mean_st"] == pytest.approx(5, abs=0.7)
    assert up["f0_sd_st"] / base["f0_sd_st"] == pytest.approx(1.6, rel=0.25)
    assert up["level_db"] == pytest.approx(-22, abs=1.0)
    narrow = speech_measure(emotion_stage(y, SR, Voice(f0_sd_st=0.6 * base["f0_sd_st"]), rng), SR)
    assert narrow["f0_sd_st"] < 0.8 * base["f0_sd_st"]
    fast = speech_measure(emotion_stage(y, SR, Voice(tempo=1.3), rng), SR)
    assert base["duration_s"] / fast["duration_s"] == pytest.approx(1.3, rel=0.08)
    bright = speech_measure(emotion_stage(y, SR, Voice(alpha_ratio_change_db=6), rng), SR)
    assert bright["alpha_ratio_db"] - base["alpha_ratio_db"] == pytest.approx(6, abs=1.5)
    assert bright["hammarberg_db"] < base["hammarberg_db"] - 4
    breathy = speech_measure(emotion_stage(y, SR, Voice(breathiness=0.6), rng), SR)
    assert breathy["hnr_db"] < base["hnr_db"] - 2
    rough = speech_measure(emotion_stage(y, SR, Voice(jitter=0.04, shimmer_db=4), rng), SR)
    assert rough["jitter_pct"] > base["jitter_pct"] + 0.5 and rough["shimmer_db"] > base["shimmer_db"] + 0.5
    ends = []
    for v in (Voice(), Voice(final_rise_st=6)):
        c = f0_contour(emotion_stage(y, SR, v, rng), SR)
        ends.append(np.mean(12 * np.log2(c.f0[c.voiced][-10:])))
    assert ends[1] > ends[0] + 3                           # the last 100 ms voiced rise


def test_stage_is_deterministic_for_a_seed(clips):
    v = Voice(jitter=0.02, shimmer_db=2, breathiness=0.3)
    a = emotion_stage(clips[0], SR, v, np.random.default_rng(7))
    b = emotion_stage(clips[0], SR, v, np.random.default_rng(7))
    assert np.array_equal(a, b)
