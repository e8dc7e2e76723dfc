"""Faces: identity, FACS expression, geometry (68 landmarks, pose), rendering, the procedural
and diffusers backends, and the optional CLIP critic. The diffusers backend uses the procedural
face as its layout guide.
"""
