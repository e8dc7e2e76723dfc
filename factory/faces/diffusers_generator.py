"""Photorealistic faces with diffusers (any Stable-Diffusion-like model id or local folder).

`mode: text`: text-to-image from a prompt composed from the SampleSpec (age, sex, Monk skin
tone, emotion and intensity, neutral photographic framing) and a negative prompt.
`mode: layout`: image-to-image from the procedural face (strength `strength`), or a
ControlNet guided by it when `controlnet` names one, so identity, pose and expression stay tied
to the procedural labels (AUs, landmarks, pose). Each sample has its own seeded
`torch.Generator` (CPU, so the same seed gives the same latents on any device); a shard's
samples are generated in batches of `batch_size`. With `critic` set, a zero-shot CLIP critic
scores every image (`factory.faces.critic`).
"""
from __future__ import annotations

from typing import Any, Literal, Mapping, Optional, Sequence

from pydantic import Field

from factory.affect import FACS_PROTOTYPES, MONK_SKIN_TONES
from factory.errors import FactoryError
from factory.faces.expression import au_key, target_aus
from factory.faces.identity import age_of, skin_tone_of
from factory.models import pick_device, read_config, resolve
from factory.faces.procedural_generator import FACE_FILES, FaceSettings
from factory.generators import SampleParts
from factory.png import encode_png
from factory.spec import SampleSpec

DEVICE_FIELD = "modalities.face.device"
SKIN_WORDS = {1: "very fair", 2: "fair", 3: "light", 4: "light olive", 5: "medium", 6: "tan",
              7: "brown", 8: "dark brown", 9: "deep brown", 10: "very deep brown"}
EMOTION_PHRASES = {
    "neutral": "a neutral, relaxed facial expression", "happiness": "a happy, smiling facial expression",
    "sadness": "a sad facial expression, downturned mouth", "anger": "an angry facial expression, furrowed brows",
    "fear": "a fearful, frightened facial expression, wide eyes", "disgust": "a disgusted facial expression, wrinkled nose",
    "surprise": "a surprised facial expression, raised eyebrows, open mouth",
    "contempt": "a contemptuous facial expression, one-sided smirk", "calm": "a calm, serene facial expression",
}
FRAMING = ("studio portrait photograph, head and shoulders, facing the camera, plain grey background, "
           "soft even lighting, sharp focus, natural skin texture")
NEGATIVE = ("cartoon, illustration, painting, drawing, 3d render, anime, deformed, distorted face, "
            "extra limbs, blurry, low quality, text, watermark, multiple people, sunglasses, hat")


def intensity_word(x: float) -> str:
    """0..1 -> 'slightly' / 'clearly' / 'intensely'."""
    return "slightly" if x < 0.4 else "clearly" if x < 0.75 else "intensely"


def compose_prompt(spec: SampleSpec) -> tuple[str, str]:
    """(prompt, negative prompt) for one sample."""
    rng = spec.identity_rng("face")
    tone = skin_tone_of(spec, rng)
    age = int(age_of(spec, rng))
    who = {"female": "woman", "male": "man"}.get(str(spec.get("sex")), "person")
    expr = EMOTION_PHRASES.get(spec.emotion, f"a facial expression of {spec.emotion}")
    how = "" if spec.emotion == "neutral" else intensity_word(spec.intensity) + " "
    prompt = f"a {age}-year-old {who} with {SKIN_WORDS[tone]} skin, {how}showing {expr}, {FRAMING}"
    return prompt, NEGATIVE


def sample_seed(spec: SampleSpec) -> int:
    """The sample's diffusion seed, from its own 'face' stream."""
    return int(spec.rng("face.diffusion").integers(0, 2**31 - 1))



class DiffusersFaceSettings(FaceSettings):
    """Faces from a diffusers model (text-to-image, or layout-guided by the procedural face)."""

    backend: str = "diffusers"
    model: Optional[str] = None              # diffusers model id or local path
    steps: int = Field(4, ge=1, le=200)
    guidance: float = Field(0.0, ge=0.0, le=30.0)
    scheduler: Optional[str] = None          # a diffusers scheduler class name
    mode: Literal["text", "layout"] = "text"  # layout: img2img from the procedural face
    strength: float = Field(0.6, gt=0.0, le=1.0)
    controlnet: Optional[str] = None
    critic: Optional[str] = None             # CLIP model id or path for the label-fidelity critic
    batch_size: int = Field(8, ge=1, le=256)
    device: str = "auto"


class DiffusersFaceGenerator:
    """`face.diffusers`: text-to-image or layout-guided faces with any diffusers model."""

    modality = "face"
    backend = "diffusers"
    Settings = DiffusersFaceSettings
    files = FACE_FILES
    licence = "diffusers (Apache-2.0); the model's own licence applies to the images (e.g. CreativeML OpenRAIL-M)"
    model_keys = ("model", "critic", "controlnet")

    def __init__(self, settings: Any):
        self.settings = settings
        self._pipe = None
        self._critic = None
        self._layout = None

    # ------------------------------------------------------------ checks
    def preflight(self, levels: Mapping[str, Sequence[Any]]) -> None:
        """Model present offline, size the model can take, device present, scheduler known."""
        s = self.settings
        try:
            import diffusers  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise FactoryError(f"modalities.face.backend 'diffusers' needs {exc.name}: "
                               f"pip install 'affect-factory[neural]'") from None
        folder = resolve(s.model, "modalities.face.model", "model_index.json")
        multiple = self._size_multiple(folder)
        if s.size % multiple:
            raise FactoryError(f"modalities.face.size: {s.size} is not a multiple of {multiple}, which "
                               f"this model's VAE needs; use e.g. {max(multiple, s.size // multiple * multiple)}")
        pick_device(s.device, DEVICE_FIELD)
        if s.scheduler:
            self._scheduler_class(s.scheduler)
        if s.mode == "layout" and not s.controlnet and int(s.steps * s.strength) < 1:
            raise FactoryError(f"modalities.face.strength: {s.strength} x steps {s.steps} leaves no "
                               f"denoising step; raise steps or strength")
        if s.controlnet:
            self._check_controlnet(folder, multiple)
        if s.critic:
            resolve(s.critic, "modalities.face.critic", "config.json")
        unknown = [e for e in levels.get("emotion", ()) if e not in FACS_PROTOTYPES]
        if unknown and s.mode == "layout":
            raise FactoryError(f"emotions: layout mode has no FACS prototype for {unknown}")
        bad = [t for t in levels.get("skin_tone", ()) if str(t) not in {str(k) for k in MONK_SKIN_TONES}]
        if bad:
            raise FactoryError(f"population.skin_tone: {bad} are not Monk Skin Tone levels (1-10)")

    def _check_controlnet(self, folder, multiple: int) -> None:
        """The ControlNet: layout mode only, present offline, and made for this model."""
        import diffusers

        s = self.settings
        if s.mode != "layout":
            raise FactoryError(f"modalities.face.controlnet: {s.controlnet!r} is set but mode is {s.mode!r}; "
                               f"the procedural face is the control image, so set mode: layout "
                               f"(or remove controlnet)")
        cn = resolve(s.controlnet, "modalities.face.controlnet", "config.json")
        config = read_config(cn, "")
        kind = config.get("_class_name", "ControlNetModel")
        if kind != "ControlNetModel":
            raise FactoryError(f"modalities.face.controlnet: {s.controlnet!r} is a {kind}; only "
                               f"ControlNetModel (Stable Diffusion / SDXL ControlNets) is supported")
        pipe = read_config(folder, "", "model_index.json").get("_class_name", "")
        if not hasattr(diffusers, pipe.replace("Pipeline", "ControlNetPipeline")):
            raise FactoryError(f"modalities.face.controlnet: the model {s.model!r} ({pipe or 'unknown pipeline'}) "
                               f"has no diffusers ControlNet pipeline; use a Stable Diffusion (1.x/2.x) or "
                               f"SDXL model, or img2img layout (remove controlnet)")
        unet = read_config(folder, "unet")
        for key in ("cross_attention_dim", "block_out_channels"):
            if key in unet and key in config and unet[key] != config[key]:
                raise FactoryError(f"modalities.face.controlnet: {s.controlnet!r} was made for another base "
                                   f"model ({key} {config[key]} vs the model's {unet[key]}); use a ControlNet "
                                   f"trained for {s.model!r}'s family (e.g. SD 1.5 ControlNets with SD 1.5)")
        down = config.get("conditioning_embedding_out_channels")
        if down and 2 ** (len(down) - 1) != multiple:
            raise FactoryError(f"modalities.face.controlnet: {s.controlnet!r} downsamples its control image "
                               f"{2 ** (len(down) - 1)}x but the model's VAE {multiple}x; they must match")

    @staticmethod
    def _size_multiple(folder) -> int:
        vae = read_config(folder, "vae")
        blocks = vae.get("block_out_channels")
        return 2 ** (len(blocks) - 1) if blocks else 8

    @staticmethod
    def _scheduler_class(name: str):
        import diffusers

        cls = getattr(diffusers, name, None)
        if cls is None or not name.endswith("Scheduler"):
            known = sorted(n for n in dir(diffusers) if n.endswith("Scheduler") and not n.startswith("_"))
            raise FactoryError(f"modalities.face.scheduler: {name!r} is not a diffusers scheduler; "
                               f"e.g. {', '.join(known[:8])}, ...")
        return cls

    def versions(self) -> dict[str, str]:
        """diffusers/torch/transformers versions and the model references."""
        import diffusers
        import torch
        import transformers

        v = {"diffusers": diffusers.__version__, "torch": torch.__version__,
             "transformers": transformers.__version__, "face.model": str(self.settings.model)}
        if self.settings.controlnet:
            v["face.controlnet"] = str(self.settings.controlnet)
        if self.settings.critic:
            v["face.critic"] = str(self.settings.critic)
        return v

    # ------------------------------------------------------------ loading
    def pipeline(self):
        """The loaded pipeline (text-to-image, image-to-image or ControlNet), built once."""
        if self._pipe is None:
            self._pipe = self._load()
        return self._pipe

    def _load(self):
        import torch
        from diffusers import AutoPipelineForImage2Image, AutoPipelineForText2Image

        s = self.settings
        device = pick_device(s.device, DEVICE_FIELD)
        dtype = torch.float16 if device.startswith(("cuda", "mps")) else torch.float32
        folder = resolve(s.model, "modalities.face.model", "model_index.json")
        kwargs: dict[str, Any] = {"torch_dtype": dtype}
        if self._uses_controlnet():
            from diffusers import ControlNetModel

            cn = resolve(s.controlnet, "modalities.face.controlnet", "config.json")
            # with `controlnet`, the auto pipeline picks the model's ControlNet pipeline
            # (StableDiffusionPipeline -> StableDiffusionControlNetPipeline, SDXL likewise)
            kwargs["controlnet"] = ControlNetModel.from_pretrained(cn, torch_dtype=dtype)
        pipe = AutoPipelineForText2Image.from_pretrained(folder, **kwargs)
        if s.mode == "layout" and not s.controlnet:
            pipe = AutoPipelineForImage2Image.from_pipe(pipe)
        if s.scheduler:
            pipe.scheduler = self._scheduler_class(s.scheduler).from_config(pipe.scheduler.config)
        if getattr(pipe, "safety_checker", None) is not None:
            pipe.safety_checker = None   # portraits; the checker's false positives blank images
        pipe.set_progress_bar_config(disable=True)
        self.device = device
        return pipe.to(device)

    def _uses_controlnet(self) -> bool:
        return self.settings.mode == "layout" and bool(self.settings.controlnet)

    def critic(self):
        """The CLIP critic, when `critic` names a model."""
        if self.settings.critic and self._critic is None:
            from factory.faces.critic import EmotionCritic

            # every emotion with a prototype, whatever the recipe asks: the critic's scores must
            # not depend on state a Dask worker's fresh generator would not have
            emotions = list(FACS_PROTOTYPES)
            self._critic = EmotionCritic(self.settings.critic, pick_device(self.settings.device, DEVICE_FIELD), emotions)
        return self._critic

    # ------------------------------------------------------------ generation
    def generate(self, specs: Sequence[SampleSpec]) -> list[SampleParts]:
        """One PNG and labels per spec, generated in batches of `batch_size`."""
        out: list[SampleParts] = []
        bs = self.settings.batch_size
        for i in range(0, len(specs), bs):
            out.extend(self._batch(list(specs[i:i + bs])))
        return out

    def _batch(self, specs: list[SampleSpec]) -> list[SampleParts]:
        import torch

        s = self.settings
        pipe = self.pipeline()
        prompts, negatives = zip(*(compose_prompt(sp) for sp in specs))
        seeds = [sample_seed(sp) for sp in specs]
        gens = [torch.Generator("cpu").manual_seed(x) for x in seeds]
        kwargs: dict[str, Any] = dict(prompt=list(prompts), num_inference_steps=s.steps,
                                      guidance_scale=s.guidance, generator=gens, output_type="pil")
        if s.guidance > 1.0:
            kwargs["negative_prompt"] = list(negatives)
        labels = [self._base_labels(sp, p, n, seed) for sp, p, n, seed in zip(specs, prompts, negatives, seeds)]
        if s.mode == "layout":
            guides = self._guides(specs, labels)
            if self._uses_controlnet():
                # the procedural faces (RGB, size x size) are the control images, one per prompt
                kwargs.update(image=guides, height=s.size, width=s.size)
            else:
                kwargs.update(image=guides, strength=s.strength)
        else:
            kwargs.update(height=s.size, width=s.size)
        images = pipe(**kwargs).images
        images = [im if im.size == (s.size, s.size) else im.resize((s.size, s.size)) for im in images]
        if self.critic() is not None:
            from factory.faces.critic import apply_critic

            apply_critic(self.critic(), images, specs, labels)
        return [SampleParts(files={"png": encode_png(im, compress_level=6)}, labels=lab) for im, lab in zip(images, labels)]

    def _base_labels(self, spec: SampleSpec, prompt: str, negative: str, seed: int) -> dict[str, Any]:
        s = self.settings
        return {"backend": self.backend, "mode": s.mode, "model": str(s.model), "time": spec.episode.apex,
                "size": s.size, "prompt": prompt, "negative_prompt": negative if s.guidance > 1.0 else "",
                "seed": seed, "steps": s.steps, "guidance": s.guidance, "scheduler": s.scheduler or "",
                "target": {au_key(a): v for a, v in target_aus(spec.emotion, spec.intensity).items()},
                "met": {}}

    def _guides(self, specs: list[SampleSpec], labels: list[dict]) -> list:
        """Procedural faces (and their exact labels) that guide layout mode."""
        from factory.faces.procedural_generator import ProceduralFaceGenerator

        if self._layout is None:
            self._layout = ProceduralFaceGenerator(self.settings)
        guides = []
        for spec, lab in zip(specs, labels):
            img, proc = self._layout.render_apex(spec, self._layout.person(spec))
            # the guide's exact labels; the generated image follows it only as far as the
            # model does, so they are the layout's, not measurements of this image
            lab["layout"] = {k: proc[k] for k in ("au", "unilateral", "pose", "landmarks", "identity")}
            if self._uses_controlnet():
                lab["controlnet"] = str(self.settings.controlnet)
            else:
                lab["layout_strength"] = self.settings.strength
            guides.append(img)
        return guides
