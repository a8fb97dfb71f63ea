"""A Tornado app for `-k tornado`."""

import os

import tornado.web


class Index(tornado.web.RequestHandler):
    def get(self, tail):
        self.write({"framework": "tornado", "pid": os.getpid(), "path": self.request.path})


app = tornado.web.Application([(r"/(.*)", Index)])
