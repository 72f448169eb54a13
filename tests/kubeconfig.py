"""A kubeconfig for tests of the cluster stack: names a context; no cluster answers behind it."""

from __future__ import annotations

KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: greenr
  cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}
contexts:
- name: greenr
  context: {cluster: greenr, user: greenr, namespace: greenr}
current-context: greenr
users:
- name: greenr
  user: {token: placeholder}
"""
