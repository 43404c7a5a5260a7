"""The screen change: a short cross-fade that allocates nothing.

Kivy's `FadeTransition` renders both screens into two new window-sized framebuffers for every
change (colour plus depth/stencil: about 16 MB at 1280×800, 33 MB at 1920×1080), and its drawing
instructions hold each other in reference cycles, so those framebuffers live on until Python's
cycle collector happens to run. On a kiosk that changes screen every few seconds that is a pile
of dead framebuffers: with Mesa's software renderer the busy app's peak memory was about 50 MB
higher with it than with no fade at all (docs/benchmarks.md). Here the two screens' own opacity
is faded instead, which Kivy applies while drawing: no framebuffer, no extra pass.
"""

from __future__ import annotations

from kivy.uix.screenmanager import TransitionBase


class CrossFade(TransitionBase):
    """The incoming screen fades in as the outgoing one fades out, both drawn in place."""

    def add_screen(self, screen):
        screen.pos, screen.size = self.screen_out.pos, self.screen_out.size
        screen.opacity = 0.0
        super().add_screen(screen)  # drawn above the outgoing screen until that one is removed

    def on_progress(self, progression):
        self.screen_in.opacity = progression
        self.screen_out.opacity = 1.0 - progression

    def on_complete(self):
        # Both restored: the outgoing screen is shown again, at full strength, by a later change.
        self.screen_in.opacity = 1.0
        self.screen_out.opacity = 1.0
        super().on_complete()
