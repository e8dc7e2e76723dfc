"""eSpeak NG through ctypes (the `espeakng-loader` wheel ships the library and its voice data).

eSpeak NG keeps global state: it is not thread-safe, and the same text synthesized twice in
one process does not give identical samples (state persists even across Terminate and
Initialize). The same *sequence* of calls in a fresh process does, once seeded with
``espeak_ng_SetRandSeed``. So `synthesize` forks a child process that loads, initializes and
seeds the library, renders a list of utterances in order and streams raw 16-bit PCM back
through a pipe (length-prefixed frames; plain bytes, no pickle), then exits. The parent never
loads the library, so every child starts from the same state.
"""
from __future__ import annotations

import ctypes
import os
import struct
from dataclasses import dataclass
from typing import Sequence

from factory.errors import FactoryError

SAMPLE_RATE = 22050          # eSpeak NG's native output rate
_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INITIALIZE_DONT_EXIT = 0x8000
_CHARS_UTF8 = 1
_PHONEMES_IPA = 0x02
_PARAM = {"rate": 1, "volume": 2, "pitch": 3, "range": 4}
_SEED = 1234
_HEADER = struct.Struct("<cI")   # tag (b"A" audio, b"E" error), payload length


# BCP-47 locale -> eSpeak NG language voice. Bare languages map to their main locale.
LOCALE_VOICES: dict[str, str] = {
    "en-US": "en-us", "en-GB": "en", "en": "en-us",
    "es-ES": "es", "es-MX": "es-419", "es-419": "es-419", "es": "es",
    "fr-FR": "fr", "fr": "fr", "de-DE": "de", "de": "de", "it-IT": "it", "it": "it",
    "pt-PT": "pt", "pt-BR": "pt-br", "pt": "pt", "nl-NL": "nl", "nl": "nl",
    "ru-RU": "ru", "ru": "ru", "tr-TR": "tr", "tr": "tr", "id-ID": "id", "id": "id",
    "sw-KE": "sw", "sw-TZ": "sw", "sw": "sw", "hi-IN": "hi", "hi": "hi",
    "ar-EG": "ar", "ar-SA": "ar", "ar": "ar", "zh-CN": "cmn", "zh": "cmn",
}


def voice_for(locale: str) -> str | None:
    """The eSpeak NG language voice of a BCP-47 locale (its language's, failing that), or None."""
    lang = locale.split("-")[0]
    return LOCALE_VOICES.get(locale) or LOCALE_VOICES.get(lang) or (lang.lower() if lang.lower() in language_voices() else None)


@dataclass(frozen=True)
class Utterance:
    """One eSpeak NG call: a voice name (``en-us+f3``), its parameters and the text.

    `rate` is in words per minute (80-450), `pitch` and `range` 0-100 (50 = the voice's own),
    `volume` 0-200 (100 = normal, linear amplitude).
    """

    voice: str
    text: str
    rate: int
    pitch: int
    range: int
    volume: int


def data_path() -> str:
    """Folder of the eSpeak NG voice data shipped by `espeakng-loader`."""
    import espeakng_loader
    return espeakng_loader.get_data_path()


def library_version() -> str:
    """Version of the packaged eSpeak NG library (from the wheel's metadata and file name)."""
    from importlib.metadata import version
    import espeakng_loader
    lib = os.path.realpath(espeakng_loader.get_library_path())
    return f"espeakng-loader {version('espeakng-loader')} ({os.path.basename(lib)})"


def language_voices() -> set[str]:
    """Identifiers of the language voices in the data folder (``en-us``, ``es``, ``cmn``, ...)."""
    root = os.path.join(data_path(), "lang")
    names = set()
    for _dir, _sub, files in os.walk(root):
        names.update(f.lower() for f in files)
    return names


def variants() -> set[str]:
    """Names of the voice variants (``m3``, ``f2``, ``grandma``, ...)."""
    return {f for f in os.listdir(os.path.join(data_path(), "voices", "!v"))}


def synthesize(utterances: Sequence[Utterance]) -> list[bytes]:
    """Render each utterance to 16-bit mono PCM at `SAMPLE_RATE`, in a fresh forked process.

    The result depends only on the sequence given (the child is seeded identically each time).
    """
    return _in_child(lambda engine: (engine.render(u) for u in utterances), len(utterances))


def phonemes(voice: str, texts: Sequence[str]) -> list[str]:
    """eSpeak NG's IPA transcription of each text in language voice `voice` (``en-us``), in a
    fresh forked process."""
    return [b.decode("utf-8") for b in
            _in_child(lambda engine: (engine.phonemes(voice, t).encode("utf-8") for t in texts), len(texts))]


def _in_child(job, count: int) -> list[bytes]:
    """Run `job(engine)` (an iterable of byte strings) in a forked child; its `count` results."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns
        os.close(read_fd)
        _child(job, write_fd)
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            out = [_read_frame(pipe) for _ in range(count)]
    finally:
        _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"eSpeak NG child process failed (status {status})")
    return out


def _read_frame(pipe) -> bytes:
    head = pipe.read(_HEADER.size)
    if len(head) < _HEADER.size:
        raise RuntimeError("eSpeak NG child process ended early (crashed?)")
    tag, size = _HEADER.unpack(head)
    payload = pipe.read(size)
    if tag == b"E":
        raise FactoryError(f"eSpeak NG: {payload.decode('utf-8', 'replace')}")
    return payload


def _child(job, fd: int) -> None:
    code = 0
    try:
        with os.fdopen(fd, "wb") as pipe:
            results = job(_Engine())
            while True:
                try:
                    payload, tag = next(results), b"A"
                except StopIteration:
                    break
                except ValueError as exc:
                    payload, tag = str(exc).encode("utf-8"), b"E"
                pipe.write(_HEADER.pack(tag, len(payload)))
                pipe.write(payload)
                if tag == b"E":
                    break
            pipe.flush()
    except BaseException:  # noqa: BLE001 - a forked child must never return into the caller
        code = 1
    os._exit(code)


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


class _Engine:
    """The library inside the child: initialized once, seeded, synchronous output."""

    def __init__(self) -> None:
        import espeakng_loader
        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        self.lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        self.lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        self.lib.espeak_ng_SetRandSeed.argtypes = [ctypes.c_long]
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int]
        self.lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                          ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        rate = self.lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path().encode(), _INITIALIZE_DONT_EXIT)
        if rate != SAMPLE_RATE:
            raise RuntimeError(f"eSpeak NG initialized at {rate} Hz, expected {SAMPLE_RATE}")
        self.lib.espeak_ng_SetRandSeed(_SEED)
        self.buf = bytearray()
        self._cb = _CALLBACK(self._collect)   # keep a reference for the library's lifetime
        self.lib.espeak_SetSynthCallback(self._cb)

    def _collect(self, wav, n, _events) -> int:
        if wav and n > 0:
            self.buf += ctypes.string_at(wav, 2 * n)
        return 0

    def phonemes(self, voice: str, text: str) -> str:
        """IPA of `text`, clause by clause (the library advances the text pointer)."""
        if self.lib.espeak_SetVoiceByName(voice.encode()) != 0:
            raise ValueError(f"no voice {voice!r}")
        buf = ctypes.create_string_buffer(text.encode("utf-8") + b"\0")
        pointer = ctypes.c_char_p(ctypes.addressof(buf))
        clauses = []
        while pointer.value:
            clauses.append(self.lib.espeak_TextToPhonemes(ctypes.byref(pointer), _CHARS_UTF8, _PHONEMES_IPA) or b"")
        return " ".join(c.decode("utf-8", "replace") for c in clauses)

    def render(self, utt: Utterance) -> bytes:
        if self.lib.espeak_SetVoiceByName(utt.voice.encode()) != 0:
            raise ValueError(f"no voice {utt.voice!r}")
        for name in ("rate", "pitch", "range", "volume"):
            self.lib.espeak_SetParameter(_PARAM[name], int(getattr(utt, name)), 0)
        text = utt.text.encode("utf-8") + b"\0"
        self.buf = bytearray()
        err = self.lib.espeak_Synth(text, len(text), 0, 1, 0, _CHARS_UTF8, None, None)
        self.lib.espeak_Synchronize()
        if err != 0:
            raise ValueError(f"synthesis failed (error {err}) for voice {utt.voice!r}")
        return bytes(self.buf)
