"""Intended and prohibited uses of an emotion dataset: the one home of the EU AI Act text.

Regulation (EU) 2024/1689 (the AI Act): emotion inference in workplaces and education
institutions is prohibited (Art. 5(1)(f), since 2 February 2025, except for medical or safety
reasons); other emotion recognition systems are high-risk (Annex III, point 1(c)); their
deployers must inform the exposed persons (Art. 50(3)). The datasheet, the Hub card, the
Croissant RAI fields and the report all quote the sentences below.
"""
from __future__ import annotations

REGULATION = "EU AI Act (Regulation (EU) 2024/1689)"
PROHIBITED = ("emotion inference on natural persons in workplaces or education institutions, except for "
              "medical or safety reasons, is prohibited (Art. 5(1)(f), since 2 February 2025)")
HIGH_RISK = ("any other emotion recognition system (Art. 3(39): inferring emotions from biometric data) is "
             "high-risk (Annex III, point 1(c))")
INFORM = "its deployers must inform the exposed persons (Art. 50(3))"
NOT_FEELINGS = ("the expressions are prototypes from the literature (EMFACS action units, vocal-cue tables, "
                "autonomic response patterns), not ground truth about anyone's feelings")
INTENDED = ("Research on emotion-recognition methods and their robustness and fairness; balancing or augmenting "
            "real datasets (complement recipes); testing data pipelines; teaching")

# One sentence for the places that have room for one (the Hub card, the report, Croissant).
NOTICE = f"Under the EU AI Act, {PROHIBITED}; {HIGH_RISK}, and {INFORM}."


def ai_act() -> dict[str, str]:
    """The sentences above by name, for templates."""
    return {"regulation": REGULATION, "prohibited": PROHIBITED, "high_risk": HIGH_RISK, "inform": INFORM,
            "not_feelings": NOT_FEELINGS, "intended": INTENDED, "notice": NOTICE}
