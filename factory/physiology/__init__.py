"""Physiology: ECG, PPG, EDA, respiration and EMG of one emotional episode (neurokit2).

`generator` (PhysiologyGenerator and its Settings) drives the modules in one direction:
`response` (what an episode should do), `artifacts.plan`, `simulate` (coupled signals),
`artifacts.add_artifacts` (what goes wrong in a recording) and `measure` (neurokit2 processing).
"""
