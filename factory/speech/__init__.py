"""Speech: backends, the emotion stage every backend's output goes through, and its measurement."""
