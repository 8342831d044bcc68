"""Image work with no Django and no outside system: finding a grid's tiles (`tiles`), encoding stored photos and
their thumbnails (`photos`), the AI-generated metadata every stored file carries (`metadata`) and the layout of
a persona's photo grids (`grids`)."""
