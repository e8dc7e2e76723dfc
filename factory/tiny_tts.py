"""Tiny random text-to-speech models, built and saved locally (no download), for tests and
benchmarks: they exercise the real loading and synthesis code of the neural speech backends.
Their output is noise-like buzz, not speech."""
from __future__ import annotations

import json
from pathlib import Path


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
