"""A note: a title, some text and an optional attached file."""

import hashlib

from django.db import models


class Note(models.Model):
    title = models.CharField(max_length=200)
    text = models.TextField(blank=True)
    attachment = models.FileField(upload_to="attachments/%Y/%m/", blank=True)
    # Filled in on upload so a client can check the file it gets back.
    attachment_size = models.BigIntegerField(null=True, blank=True, editable=False)
    attachment_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return self.title

    def record_attachment_digest(self):
        """Hash the uploaded file as Django received it (chunk by chunk: it may be large)."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self.attachment.chunks():
            digest.update(chunk)
            size += len(chunk)
        self.attachment_sha256 = digest.hexdigest()
        self.attachment_size = size

    def as_dict(self):
        return {
            "id": self.pk,
            "title": self.title,
            "text": self.text,
            "attachment": self.attachment.name or None,
            "attachment_size": self.attachment_size,
            "attachment_sha256": self.attachment_sha256 or None,
            "created": self.created.isoformat(),
        }
