"""Tiny random models for tests and benchmarks, built and saved locally (no download).

`build_tiny_sd(folder)` writes a Stable-Diffusion-layout pipeline (UNet, VAE, CLIP text
encoder with a byte-level tokenizer, scheduler) that `AutoPipelineForText2Image` loads;
`build_tiny_controlnet(folder)` writes a ControlNet matching that UNet (for layout mode's
ControlNet path); `build_tiny_clip(folder)` writes a CLIP model and processor for the critic. Random weights:
the images are noise, but every loading and generation code path is the real one.
"""
from __future__ import annotations

from pathlib import Path


def _bytes_to_unicode() -> list[str]:
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]


def tiny_tokenizer():
    """A byte-level CLIP tokenizer with no merges (every byte is a token)."""
    from transformers import CLIPTokenizer

    chars = _bytes_to_unicode()
    tokens = chars + [c + "</w>" for c in chars] + ["<|startoftext|>", "<|endoftext|>"]
    vocab = {t: i for i, t in enumerate(tokens)}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def _text_config(vocab_size: int):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(vocab_size=vocab_size, hidden_size=32, intermediate_size=37, num_attention_heads=4,
                          num_hidden_layers=2, max_position_embeddings=77, projection_dim=16,
                          bos_token_id=vocab_size - 2, eos_token_id=vocab_size - 1, pad_token_id=vocab_size - 1)


def _tiny_unet():
    from diffusers import UNet2DConditionModel

    return UNet2DConditionModel(sample_size=16, in_channels=4, out_channels=4, layers_per_block=1,
                                block_out_channels=(8, 16), norm_num_groups=4, cross_attention_dim=32,
                                attention_head_dim=2, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"))


def build_tiny_sd(folder, seed: int = 0) -> Path:
    """Save a tiny random Stable Diffusion pipeline to `folder` (VAE scale factor 2)."""
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    tok = tiny_tokenizer()
    unet = _tiny_unet()
    vae = AutoencoderKL(in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16),
                        norm_num_groups=4, down_block_types=("DownEncoderBlock2D",) * 2,
                        up_block_types=("UpDecoderBlock2D",) * 2, sample_size=32)
    text = CLIPTextModel(_text_config(len(tok)))
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text, tokenizer=tok, unet=unet,
                                   scheduler=EulerDiscreteScheduler(), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    folder = Path(folder)
    pipe.save_pretrained(folder)
    return folder


def build_tiny_controlnet(folder, sd_folder=None, seed: int = 0) -> Path:
    """Save a tiny random ControlNet for the tiny UNet (that of `sd_folder`, else a fresh one).

    The conditioning embedding downsamples once (factor 2, the tiny VAE's scale factor; real SD
    ControlNets downsample 8x for SD's 8x VAE). The zero convolutions, zero-initialised by
    diffusers, get small random weights so the control image really changes the output.
    """
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = (UNet2DConditionModel.from_pretrained(Path(sd_folder) / "unet") if sd_folder is not None
            else _tiny_unet())
    cn = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(8, 16))
    with torch.no_grad():
        for conv in [*cn.controlnet_down_blocks, cn.controlnet_mid_block, cn.controlnet_cond_embedding.conv_out]:
            conv.weight.normal_(0.0, 0.2)
            conv.bias.normal_(0.0, 0.05)
    folder = Path(folder)
    cn.save_pretrained(folder)
    return folder


def build_tiny_clip(folder, seed: int = 0) -> Path:
    """Save a tiny random CLIP model and processor to `folder`."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPVisionConfig

    torch.manual_seed(seed)
    tok = tiny_tokenizer()
    vision = CLIPVisionConfig(hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                              image_size=32, patch_size=8, projection_dim=16)
    config = CLIPConfig(text_config=_text_config(len(tok)).to_dict(), vision_config=vision.to_dict(), projection_dim=16)
    model = CLIPModel(config)
    proc = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32},
                                                            crop_size={"height": 32, "width": 32}), tokenizer=tok)
    folder = Path(folder)
    model.save_pretrained(folder)
    proc.save_pretrained(folder)
    return folder
