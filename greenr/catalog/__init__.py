"""The catalog database: images, rejections, splits and dataset versions."""
