"""Views: the note list with its form (a CSRF-protected POST with an optional file upload),
a note and its attachment (a FileResponse, which Django sends through wsgi.file_wrapper),
and two small JSON views for deployments (what the request looked like, health)."""

import os

from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from .forms import NoteForm
from .models import Note


def index(request):
    if request.method == "POST":
        form = NoteForm(request.POST, request.FILES)
        if form.is_valid():
            note = form.save(commit=False)
            if note.attachment:
                note.record_attachment_digest()
            note.save()
            return redirect("notes:detail", pk=note.pk)  # POST/redirect/GET
    else:
        form = NoteForm()
    return render(request, "notes/index.html", {"form": form, "notes": Note.objects.all()[:20]})


@require_GET
def detail(request, pk):
    return render(request, "notes/detail.html", {"note": get_object_or_404(Note, pk=pk)})


@require_GET
def detail_json(request, pk):
    return JsonResponse(get_object_or_404(Note, pk=pk).as_dict())


@require_GET
def attachment(request, pk):
    note = get_object_or_404(Note, pk=pk)
    if not note.attachment:
        raise Http404("no attachment")
    return FileResponse(note.attachment.open("rb"), as_attachment=True, filename=os.path.basename(note.attachment.name))


@require_GET
def whoami(request):
    """How the request reached Django: the scheme the WSGI server decided, and the proxy's headers."""
    return JsonResponse(
        {
            "is_secure": request.is_secure(),
            "scheme": request.scheme,
            "host": request.get_host(),
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "x_forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
            "x_forwarded_proto": request.META.get("HTTP_X_FORWARDED_PROTO"),
            "user": request.user.get_username() if request.user.is_authenticated else None,
            "absolute_uri": request.build_absolute_uri("/"),
        }
    )


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok", "pid": os.getpid()})
