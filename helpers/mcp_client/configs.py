"""Placeholder"""
def client_configurations(*a, **k):
    return {}
