"""Faces: the reference faces base selfies start from (`reference`), the check of every stored face (`checks`),
and the index that finds the same face in two personas (`index`)."""
