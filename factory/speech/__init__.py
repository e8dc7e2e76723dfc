"""Speech: transcripts, the eSpeak NG engine, the speech backends (eSpeak NG, transformers, Coqui
TTS) behind one base class, the emotion stage every backend's output goes through, and its
measurement."""
