"""Receiving uploads: a plain request body (raw or multipart) and resumable uploads over tus."""
