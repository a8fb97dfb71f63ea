-- The echo app's request: POST of 4 KiB with a Content-Length (wrk adds it from wrk.body).
wrk.method = "POST"
wrk.body = string.rep("e", 4096)
wrk.headers["Content-Type"] = "application/octet-stream"

dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
