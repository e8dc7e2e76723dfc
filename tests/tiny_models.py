"""Tiny random models for tests and benchmarks, built and saved locally (no download).

`build_tiny_sd(folder)` writes a Stable-Diffusion-layout pipeline (UNet, VAE, CLIP text
encoder with a byte-level tokenizer, scheduler) that `AutoPipelineForText2Image` loads;
`build_tiny_controlnet(folder)` writes a ControlNet matching that UNet (for layout mode's
ControlNet path); `build_tiny_clip(folder)` writes a CLIP model and processor for the critic. Random weights:
the images are noise, but every loading and generation code path is the real one.
`build_transformers_vits`, `build_coqui_vits` and `build_text_generator` do the same for the neural
speech backends and the transcript model (their output is noise-like buzz, not speech).
"""
from __future__ import annotations

import json
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


def build_transformers_vits(folder: str | Path, speakers: int = 3) -> str:
    """A random multi-speaker transformers VITS with a character tokenizer, saved to `folder`."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    chars = ["<pad>", "<unk>", " "] + list("abcdefghijklmnopqrstuvwxyz'.,!?-")
    (folder / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(chars)}))
    tokenizer = VitsTokenizer(str(folder / "vocab.json"), add_blank=True, normalize=True, phonemize=False)
    config = VitsConfig(
        vocab_size=len(chars), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, ffn_dim=64,
        flow_size=32, spectrogram_bins=65, upsample_initial_channel=32, upsample_rates=[8, 8, 4],
        upsample_kernel_sizes=[16, 16, 8], resblock_kernel_sizes=[3], resblock_dilation_sizes=[[1, 3]],
        prior_encoder_num_flows=1, prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
        duration_predictor_filter_channels=32, depth_separable_num_layers=1, sampling_rate=16000,
        speaking_rate=12.0, num_speakers=speakers, speaker_embedding_size=8)
    torch.manual_seed(0)
    VitsModel(config).train(False).save_pretrained(folder)  # inference mode
    tokenizer.save_pretrained(folder)
    return str(folder)


def build_coqui_vits(folder: str | Path, speakers: tuple[str, ...] = ("alice", "bob", "carol")) -> str:
    """A random multi-speaker Coqui VITS: model.pth (tensors only) + config.json + speakers.json."""
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.shared_configs import CharactersConfig
    from TTS.tts.configs.vits_config import VitsArgs, VitsConfig
    from TTS.tts.models.vits import Vits
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    speakers_file = folder / "speakers.json"
    speakers_file.write_text(json.dumps({name: i for i, name in enumerate(speakers)}))
    args = VitsArgs(
        hidden_channels=16, hidden_channels_ffn_text_encoder=32, num_heads_text_encoder=2, num_layers_text_encoder=1,
        num_layers_posterior_encoder=1, num_layers_flow=1, resblock_kernel_sizes_decoder=[3],
        resblock_dilation_sizes_decoder=[[1, 3, 5]], upsample_rates_decoder=[8, 8, 4],
        upsample_initial_channel_decoder=32, upsample_kernel_sizes_decoder=[16, 16, 8], use_sdp=False,
        use_speaker_embedding=True, speaker_embedding_channels=8, init_discriminator=False,
        speakers_file=str(speakers_file))
    config = VitsConfig(
        model_args=args, use_phonemes=False, text_cleaner="multilingual_cleaners", add_blank=True,
        use_speaker_embedding=True, speakers_file=str(speakers_file),
        characters=CharactersConfig(characters_class="TTS.tts.models.vits.VitsCharacters", pad="<PAD>", eos="<EOS>",
                                    bos="<BOS>", blank="<BLNK>", characters="abcdefghijklmnopqrstuvwxyz",
                                    punctuations="!'(),-.:;? ", phonemes=None),
        audio=BaseAudioConfig(sample_rate=16000, hop_length=256, win_length=1024, fft_size=1024, num_mels=80))
    torch.manual_seed(0)
    model = Vits(config)
    torch.save({"model": model.state_dict()}, folder / "model.pth")   # Coqui's checkpoint format, tensors only
    config.save_json(str(folder / "config.json"))
    return str(folder)


def build_text_generator(folder: str | Path) -> str:
    """A random one-layer GPT-2 with a byte-level BPE tokenizer trained here, saved to `folder`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["One short sentence that a person feeling anger says out loud:", "I am so happy today! Leave me alone."]
    tok.train_from_iterator(corpus * 5, trainers.BpeTrainer(vocab_size=300, special_tokens=["<unk>", "<eos>"],
                                                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>", pad_token="<eos>")
    eos = fast.convert_tokens_to_ids("<eos>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(fast), n_positions=128, n_embd=32, n_layer=1, n_head=2,
                        bos_token_id=eos, eos_token_id=eos)
    GPT2LMHeadModel(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return str(folder)
