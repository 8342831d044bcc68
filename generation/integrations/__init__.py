"""Every outside system behind one module, each reading its own settings: the text and image models
(`backends`, with `openai/` and `offline`), file storage (`storage`), the face model (`face_model`) and the
C2PA signer (`provenance`). Nothing here imports the pipeline, the lifecycle, the selectors or the pages."""
