"""EEG of one emotional episode: montages, simulation, artifacts, measurement and the generator.

Data flows one way: `montages` (electrode names and positions) -> `simulate` (brain signal
and its expected band powers) -> `artifacts` (ocular, muscle, line noise) -> `measure`
(band powers, asymmetry, alpha peak and differential entropy of the output) -> `generator`.
"""
