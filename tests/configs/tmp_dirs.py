# Containers with a read-only root: heartbeat files in memory, no sendfile on overlay filesystems.
worker_tmp_dir = "/dev/shm"
tmp_upload_dir = None
sendfile = False
workers = 2
