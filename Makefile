# Two entry points do all set-up themselves on a fresh Debian/Ubuntu machine:
#   make run    opens the console on the embedded demo stack
#   make test   runs the whole test suite (offscreen Qt, real moto/ffmpeg/libmpv)
PY ?= python3.11
VENV := .venv
VPY := $(VENV)/bin/python
APT_PACKAGES := ffmpeg libmpv2 libgl1-mesa-dri libegl1 libgl1 libxcb-icccm4 libxcb-keysyms1 \
	libxcb-cursor0 libxkbcommon-x11-0 libxcb-image0 libxcb-render-util0 libxcb-shape0 \
	libxcb-randr0 libfontconfig1 libdbus-1-3 xvfb xauth xdotool

.PHONY: run test smoke bench setup system-packages clean bundle bundle-check

run: setup
	$(VPY) main.py

test: setup
	$(VPY) -m ruff check .
	$(VPY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest

smoke: setup
	VIDEO_OPS_AUDIO=null xvfb-run -a -s "-screen 0 1600x1000x24" $(VPY) main.py smoke --screenshot smoke.png

bench: setup
	QT_QPA_PLATFORM=offscreen $(VPY) -m pytest tests/benchmarks -p no:cacheprovider \
		--override-ini="addopts=" --timeout=1800 --benchmark-columns=min,median,max,rounds

# Desktop bundle (PyInstaller one-folder, packaging_spec/): dist/video-ops-console/
BUNDLE := dist/video-ops-console/video-ops-console

bundle: setup
	$(VENV)/bin/pyinstaller --noconfirm --clean packaging_spec/video-ops-console.spec \
		--distpath dist --workpath build

# The bundle's end-to-end check: from a temp dir outside the checkout, with a clean
# environment (no venv on PATH, fresh data/config dirs), list the catalog and run the smoke.
bundle-check: bundle
	@set -e; bin="$(CURDIR)/$(BUNDLE)"; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	mkdir -p "$$tmp/data" "$$tmp/config"; cd "$$tmp"; \
	run() { env -i HOME="$$HOME" PATH=/usr/bin:/bin LANG=C.UTF-8 VIDEO_OPS_AUDIO=null \
		VIDEO_OPS_DATA_DIR="$$tmp/data" VIDEO_OPS_CONFIG_DIR="$$tmp/config" "$$@"; }; \
	run "$$bin" catalog list --json > catalog.json; \
	games=$$(grep -c '"id":' catalog.json) || { echo "catalog list --json: no games"; exit 1; }; \
	echo "catalog list --json: $$games games"; \
	run xvfb-run -a -s "-screen 0 1600x1000x24" "$$bin" smoke --screenshot "$$tmp/smoke.png"; \
	test -s "$$tmp/smoke.png"; \
	run "$$bin" demo stop > /dev/null || true; \
	echo "bundle-check: OK"

setup: system-packages $(VENV)/.installed

system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "Installing Debian packages: $$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
		else \
			echo "Missing Debian packages. Run this, then the same make command again:"; \
			echo "  sudo apt-get update && sudo apt-get install -y $$missing"; \
			exit 1; \
		fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)."; exit 1; }
	$(PY) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[dev,cluster]'
	touch $@

clean:
	rm -rf $(VENV) build dist *.egg-info
