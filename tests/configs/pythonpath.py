# Extra import paths for a project whose code is split over several directories.
import os

here = os.path.dirname(os.path.abspath(__file__))
pythonpath = ",".join([os.path.join(here, "project"), os.path.join(here, "project", "vendor")])
workers = 1
