"""A trained model as a user holds it (networks, preprocessing, labels), its file format and
how well it does on labelled data."""
