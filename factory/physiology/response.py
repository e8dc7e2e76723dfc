"""What one episode's physiology should do: the person's baseline and profile, and this
trial's response, drawn with the variability real corpora show (`factory.affect.VARIABILITY`).

A channel's response is `intensity x (table x person gain + person-emotion deviation) x trial
gain x habituation`; heart rate and skin conductance start after one shared latency draw.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from factory.affect import (AUTONOMIC, CHANNEL_SCALE, ECG_WAVES, ECG_WAVES_SD, EDA_NON_RESPONDERS, HABITUATION,
                            PPG_DIASTOLIC, PULSE_ARRIVAL_S, PULSE_ARRIVAL_SD, RSA_AGE_DECLINE, RSA_HALF_SWING_BPM,
                            VARIABILITY, resting_baseline)
from factory.plain import to_python
from factory.spec import SampleSpec

HR_RAMP_S = 3.0          # heart/respiration rates settle ~3 s after the response starts (Kreibig 2010, *chosen*)
HR_LATENCY_S = 0.5       # cardiac response starts ~0.5 s after onset (*chosen*)
SCR_LATENCY_S = 2.0      # evoked SCR starts 1-3 s after onset (Boucsein 2012): mean 2 s
CHANNELS = ("heart_rate", "scl", "scr_rate", "resp_rate", "emg")
GROUP = {"heart_rate": "heart", "scl": "skin", "scr_rate": "skin", "resp_rate": "breath", "emg": "face"}
FAILED_INDUCTION_GAIN = 0.2
LOW_REACTOR_GAIN = 0.3
# Person-to-person SDs of the resting state (resting_baseline's z scales), for episode shifts.
BASELINE_SD = {"heart_rate": 7.7, "resp_rate": 1.5, "log_scl": 0.45}


def person_profile(spec: SampleSpec, variability: str) -> dict[str, Any]:
    """The person's stable traits: baseline, channel gains, responder status, RSA, pulse arrival."""
    v = VARIABILITY[variability]
    person = spec.identity_rng("physiology")
    base = resting_baseline(spec.age, spec.get("sex"), tuple(person.standard_normal(4)))
    traits = spec.identity_rng("physiology.profile")
    gains = {c: math.exp(v.person_gain_sd * traits.standard_normal()) for c in CHANNELS}
    responder = bool(traits.random() >= EDA_NON_RESPONDERS)
    low_reactor = bool(traits.random() < v.low_reactors)
    if low_reactor:
        gains["heart_rate"] *= LOW_REACTOR_GAIN
    rsa = RSA_HALF_SWING_BPM * max(0.2, 1 - RSA_AGE_DECLINE * max(spec.age - 20, 0)) * math.exp(0.3 * traits.standard_normal())
    pulse_arrival = float(np.clip(PULSE_ARRIVAL_S + PULSE_ARRIVAL_SD * traits.standard_normal(), 0.2, 0.3))
    own = spec.identity_rng(f"physiology.profile.{spec.emotion}")
    deviation = {c: v.person_emotion_sd * CHANNEL_SCALE[c] * own.standard_normal() for c in CHANNELS}
    profile = {"base": base, "gains": gains, "deviation": deviation, "responder": responder,
               "low_reactor": low_reactor, "rsa": rsa, "pulse_arrival": pulse_arrival,
               "ecg_gain": math.exp(0.3 * traits.standard_normal()),
               "ecg_waves": [ECG_WAVES[i] * math.exp(ECG_WAVES_SD[i] * traits.standard_normal()) for i in range(3)],
               "ppg_diastolic": float(np.clip(PPG_DIASTOLIC * math.exp(0.25 * traits.standard_normal()), 0.1, 0.7))}
    # Drawn last so that adding it left every earlier trait draw as it was.
    profile["ecg_waves"].append(ECG_WAVES[3] * math.exp(ECG_WAVES_SD[3] * traits.standard_normal()))
    return profile


def habituation(group: str, repetition: int) -> float:
    """Share of the first response left at this person's `repetition`-th episode (0-based)."""
    floor, tau = HABITUATION[group]
    return floor + (1 - floor) * math.exp(-repetition / tau)


def episode_targets(spec: SampleSpec, variability: str = "realistic") -> dict[str, Any]:
    """Baseline and response targets of one episode (physiological units)."""
    v = VARIABILITY[variability]
    p = person_profile(spec, variability)
    base, ep, k = p["base"], spec.episode, spec.intensity
    table = AUTONOMIC[spec.emotion]
    rng = spec.rng("physiology.response")
    shared = rng.standard_normal()      # one arousal draw moves every channel of this trial together
    trial = {c: math.exp(v.trial_gain_sd * (0.6 * shared + 0.8 * rng.standard_normal())) for c in CHANNELS}
    elicited = bool(rng.random() >= v.induction_failure)
    latency_shift = float(np.clip(v.latency_sd * rng.standard_normal(), -1.5, 1.5))
    shift = v.baseline_shift_sd * rng.standard_normal(3)
    repetition = spec.repetition
    mean = {c: getattr(table, c) for c in CHANNELS}
    r = {c: k * (mean[c] * p["gains"][c] + p["deviation"][c]) * trial[c] * habituation(GROUP[c], repetition)
         * (1.0 if elicited else FAILED_INDUCTION_GAIN) for c in CHANNELS}
    hr_base = float(np.clip(base.heart_rate + BASELINE_SD["heart_rate"] * shift[0], 45.0, 100.0))
    resp_base = float(np.clip(base.resp_rate + BASELINE_SD["resp_rate"] * shift[1], 9.0, 22.0))
    scl_base = float(np.clip(base.scl * math.exp(BASELINE_SD["log_scl"] * shift[2]), 1.0, 25.0))
    if not p["responder"]:
        r["scl"], r["scr_rate"] = 0.0, 0.0
    hr_start = ep.onset + max(HR_LATENCY_S + latency_shift, 0.2)
    scr_start = ep.onset + max(SCR_LATENCY_S + latency_shift, 0.8)
    events = spec.rng("physiology-events")
    evoked_amp = (0.1 * k + 0.5 * r["scl"]) * trial["scl"] if r["scl"] > 0 else 0.0
    scr_times = [scr_start] if evoked_amp >= 0.05 and scr_start < ep.duration - 1.0 else []
    rest_rate = base.scr_rate if p["responder"] else 0.0
    post_rate = max(rest_rate + r["scr_rate"], 0.0)
    ns_pre = events.poisson(rest_rate * ep.onset / 60)
    late = ep.duration - 2.5
    ns_post = events.poisson(post_rate * max(late - ep.onset - 0.5, 0) / 60)
    ns_times = list(events.uniform(0.5, ep.onset, ns_pre)) + list(events.uniform(ep.onset + 0.5, max(late, ep.onset + 0.5), ns_post))
    ns_times = [t for t in ns_times if all(abs(t - s) > 2.0 for s in scr_times)]
    hrv = 1 + (table.hrv - 1) * k * p["gains"]["heart_rate"] * trial["heart_rate"]
    return to_python({
        "duration": ep.duration, "onset": ep.onset, "offset": ep.offset,
        "heart_rate_baseline": round(hr_base, 2), "resp_rate_baseline": round(resp_base, 2),
        "scl_baseline": round(scl_base, 3), "responder": p["responder"],
        "heart_rate": round(hr_base + r["heart_rate"], 2),
        "heart_rate_change": round(r["heart_rate"], 2),
        "scl_change": round(r["scl"], 3),
        "sdnn": round(base.sdnn * float(np.clip(hrv, 0.3, 2.0)), 2),
        "resp_rate": round(float(np.clip(resp_base + r["resp_rate"], 6.0, 30.0)), 2),
        "scl": round(max(scl_base + r["scl"], 0.5), 3),
        "scr_count": sum(t >= ep.onset for t in scr_times + ns_times),
        **_scr_events(scr_times, [evoked_amp] * len(scr_times), ns_times, events.uniform(0.05, 0.25, len(ns_times))),
        "emg_bursts": int(max(round(3 * r["emg"]), 0)),
        "emg_level": float(np.clip(r["emg"], 0.0, 1.5)),
        "hr_start": hr_start, "scr_start": scr_start, "latency": round(hr_start - ep.onset, 3),
        "repetition": repetition, "elicited": elicited, "low_reactor": p["low_reactor"],
        "rsa": round(p["rsa"], 3), "pulse_arrival": round(p["pulse_arrival"], 4), "ecg_gain": p["ecg_gain"], "ecg_waves": p["ecg_waves"], "ppg_diastolic": p["ppg_diastolic"],
    })


def _scr_events(evoked, evoked_amps, spontaneous, spontaneous_amps) -> dict[str, list]:
    """SCR onset times and their amplitudes, paired and in time order."""
    pairs = sorted(zip(list(evoked) + list(spontaneous), list(evoked_amps) + list(spontaneous_amps)))
    return {"scr_times": [t for t, _ in pairs], "scr_amplitudes": [a for _, a in pairs]}
