"""Model construction and checkpoint loading (diffusers folders, sgm single files, ``tiny``)."""
