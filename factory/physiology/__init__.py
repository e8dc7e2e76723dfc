"""Physiology: ECG, PPG, EDA, respiration and EMG of one emotional episode (neurokit2)."""
