"""The generation pipeline, in the order it runs:

1. `lifecycle.start`: cut the task into batch units; status generating-data.
2. `stages.run_unit`: claim a unit under a lease and run its stage, then hand the outcome to the lifecycle.
3. `personas.run_batch`: one batch of personas from the text model, validated and saved.
4. `lifecycle.advance`: when the last batch ends, one images unit per persona; generating-images.
5. `images.run_images`: a persona's base selfie, its photo grids, the tiles, each file signed and stored.
6. `lifecycle.advance`: when the last images unit ends, completed or failed.

`redo.py` runs the operator's actions on one persona (new bios, one new photo, all photos again). `lifecycle/`
owns every state change; the stages call it."""
