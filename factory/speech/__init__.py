"""Speech: transcripts, the eSpeak NG engine, prosody, and the speech backends (eSpeak NG,
transformers, Coqui TTS) behind one base class."""
