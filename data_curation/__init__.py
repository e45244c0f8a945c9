"""Data curation: from raw footage to a scored clip manifest (the ``curate`` command)."""
