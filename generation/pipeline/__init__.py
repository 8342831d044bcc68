"""The generation pipeline, in the order it runs:

1. `stages.start_task`: cut the task into batch units; status generating-data.
2. `personas.run_batch`: one batch of personas from the text model, validated and saved.
3. `stages.advance_task`: when the last batch ends, one images unit per persona; generating-images.
4. `images.run_images`: a persona's base selfie, its grid(s), the tiles, stored and recorded.
5. `stages.advance_task`: when the last images unit ends, completed or failed.

`units` holds the bookkeeping every stage shares: claiming a unit, counting its attempts,
queueing the next ones fairly."""
