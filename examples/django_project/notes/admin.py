from django.contrib import admin

from .models import Note


@admin.register(Note)
class NoteAdmin(admin.ModelAdmin):
    list_display = ("title", "attachment", "attachment_size", "created")
    search_fields = ("title", "text")
    readonly_fields = ("attachment_size", "attachment_sha256")
