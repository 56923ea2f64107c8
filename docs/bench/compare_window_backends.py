"""Cost of presenting one 640x480 frame in a W x H window: OpenCV highgui vs moderngl+glfw.

The measurement behind the window choice in README.md. Not part of the package:
    pip install moderngl glfw
    W=1920 H=1080 DISPLAY=:99 python docs/bench/compare_window_backends.py
"""
import time
import numpy as np, cv2
from engine.processors.fit import fit_frame

frames = [np.random.default_rng(i).integers(0, 255, (480, 640, 3), dtype=np.uint8) for i in range(8)]
N = 300
import os
W, H = int(os.environ.get("W", 1280)), int(os.environ.get("H", 720))

def highgui():
    cv2.namedWindow("hg", cv2.WINDOW_NORMAL | cv2.WINDOW_FREERATIO | cv2.WINDOW_GUI_NORMAL)
    cv2.resizeWindow("hg", W, H)
    cv2.imshow("hg", frames[0]); cv2.waitKey(50)
    times = []
    for i in range(N):
        t = time.perf_counter()
        cv2.imshow("hg", fit_frame(frames[i % 8], W, H))
        cv2.waitKey(1)
        times.append(time.perf_counter() - t)
    cv2.destroyAllWindows()
    return np.array(times) * 1000

def gl():
    import glfw, moderngl
    assert glfw.init()
    glfw.window_hint(glfw.CONTEXT_VERSION_MAJOR, 3); glfw.window_hint(glfw.CONTEXT_VERSION_MINOR, 3)
    glfw.window_hint(glfw.OPENGL_PROFILE, glfw.OPENGL_CORE_PROFILE)
    win = glfw.create_window(W, H, "gl", None, None)
    glfw.make_context_current(win); glfw.swap_interval(0)
    ctx = moderngl.create_context()
    print("GL renderer:", ctx.info["GL_RENDERER"])
    prog = ctx.program(vertex_shader="""#version 330
in vec2 p; out vec2 uv; void main(){ uv = vec2(p.x*0.5+0.5, 0.5-p.y*0.5); gl_Position = vec4(p,0,1); }""",
        fragment_shader="""#version 330
uniform sampler2D t; in vec2 uv; out vec4 c; void main(){ c = vec4(texture(t, uv).bgr, 1); }""")
    vbo = ctx.buffer(np.array([-1,-1, 1,-1, -1,1, 1,1], dtype="f4"))
    vao = ctx.simple_vertex_array(prog, vbo, "p")
    tex = ctx.texture((640, 480), 3); tex.filter = (moderngl.LINEAR, moderngl.LINEAR)
    times = []
    for i in range(N):
        t = time.perf_counter()
        tex.write(frames[i % 8].tobytes()); tex.use(0)
        ctx.clear(); vao.render(moderngl.TRIANGLE_STRIP)
        glfw.swap_buffers(win); glfw.poll_events()
        times.append(time.perf_counter() - t)
    glfw.terminate()
    return np.array(times) * 1000

for name, fn in (("opencv-highgui", highgui), ("moderngl+glfw", gl)):
    t = fn()
    print(f"{name:15s} present ms: p50 {np.percentile(t,50):.2f}  p95 {np.percentile(t,95):.2f}")
