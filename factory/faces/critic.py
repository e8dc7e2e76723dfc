"""Label-fidelity critic: zero-shot CLIP scores a face image against every emotion.

For each image, the texts "a photo of a face showing {emotion}" for the candidate emotions
are scored with CLIP (through transformers; any model id or local folder); the softmax
probability of the target emotion (`critic.p_target`) and the top emotion (`critic.top`) are
stored per sample, and `met.critic` says whether the top one is the target, so the audit can
compare label fidelity across groups and users can filter out unconvincing samples.
"""
from __future__ import annotations

from typing import Sequence

from factory.affect import EMOTIONS
from factory.models import resolve

# Natural-language descriptions of each category for the zero-shot prompts.
EMOTION_WORDS = {
    "neutral": "a neutral expression", "happiness": "happiness", "sadness": "sadness",
    "anger": "anger", "fear": "fear", "disgust": "disgust", "surprise": "surprise",
    "contempt": "contempt", "calm": "calm",
}
TEMPLATE = "a photo of a face showing {}"


class EmotionCritic:
    """Zero-shot CLIP emotion scorer; load once, score batches of PIL images."""

    def __init__(self, model: str, device: str = "cpu", emotions: Sequence[str] = EMOTIONS,
                 field: str = "modalities.face.critic"):
        import torch
        from transformers import CLIPModel, CLIPProcessor

        self.model_ref = model
        folder = resolve(model, field, "config.json")
        self.device = device
        self.model = CLIPModel.from_pretrained(folder).to(device).train(False)  # inference mode
        self.processor = CLIPProcessor.from_pretrained(folder)
        self.emotions = list(emotions)
        texts = [TEMPLATE.format(EMOTION_WORDS.get(e, e)) for e in self.emotions]
        with torch.inference_mode():
            tok = self.processor(text=texts, return_tensors="pt", padding=True, truncation=True).to(device)
            emb = self.model.get_text_features(**tok)
            emb = getattr(emb, "pooler_output", emb)
            self.text = emb / emb.norm(dim=-1, keepdim=True)

    def score(self, images, targets: Sequence[str]) -> list[dict]:
        """Per image: {'p_target', 'top', 'p_top', 'model'} for its target emotion."""
        import torch

        with torch.inference_mode():
            pix = self.processor(images=list(images), return_tensors="pt").to(self.device)
            emb = self.model.get_image_features(**pix)
            emb = getattr(emb, "pooler_output", emb)
            emb = emb / emb.norm(dim=-1, keepdim=True)
            probs = (self.model.logit_scale.exp() * emb @ self.text.T).softmax(-1).float().cpu().numpy()
        out = []
        for p, target in zip(probs, targets):
            top = int(p.argmax())
            p_target = float(p[self.emotions.index(target)]) if target in self.emotions else 0.0
            out.append({"p_target": round(p_target, 4), "top": self.emotions[top],
                        "p_top": round(float(p[top]), 4), "model": self.model_ref})
        return out


def apply_critic(critic: EmotionCritic, images, specs, labels: list[dict]) -> None:
    """Score `images` and store `critic` and `met.critic` in each sample's labels."""
    for lab, res, spec in zip(labels, critic.score(images, [s.emotion for s in specs]), specs):
        lab["critic"] = res
        lab.setdefault("met", {})["critic"] = res["top"] == spec.emotion
