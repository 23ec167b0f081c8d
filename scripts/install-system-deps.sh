#!/usr/bin/env bash
# System packages the tests need, installed only when missing (Debian/Ubuntu, as root):
# Dawn (npm `webgpu`) needs the Vulkan loader (libvulkan1) and a Vulkan driver. With no GPU,
# SwiftShader's CPU driver is the one that works; its ICD ships in Debian's chromium package,
# which the browser-example test drives too. Recommends are left out of libvulkan1 on purpose:
# they bring Mesa's lavapipe, which is too old for Dawn.
set -euo pipefail

ICD=/usr/lib/chromium/vk_swiftshader_icd.json
# (No grep -q: with pipefail, grep exiting early could fail the pipe.)
if [[ -f "$ICD" ]] && ldconfig -p | grep 'libvulkan\.so\.1 ' >/dev/null; then
  echo "[deps] SwiftShader and the Vulkan loader are already installed"
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "[deps] need chromium and libvulkan1: run as root, or: sudo apt-get install chromium && sudo apt-get install --no-install-recommends libvulkan1" >&2
  exit 1
fi
echo "[deps] installing chromium (SwiftShader Vulkan driver) and libvulkan1"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium >/dev/null
apt-get install -y -qq --no-install-recommends libvulkan1 >/dev/null
