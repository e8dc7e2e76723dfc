"""The procedural face model: identity, FACS expression, geometry (68 landmarks, pose) and
rendering. `factory.generators.face_procedural` puts them together; the diffusers backend
uses the same renderer as its layout guide.
"""
