"""News: the KB's YAML items and feed items in one list, stored in the database so that
subscribers' cursors can say exactly what they have been sent."""
