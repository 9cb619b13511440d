#!/usr/bin/env bash
# The steps of the GitHub Action (action.yml): `install` puts the pinned release of reconcile into
# the runner's tool cache with scripts/install.sh (checksum verified); `run` runs plan, apply or
# check, sets the outputs, and posts or updates the pull-request comment. Every input arrives in
# an INPUT_* environment variable, never spliced into the script text.
set -euo pipefail

die() {
  echo "::error title=reconcile action::$*"
  exit 1
}

# Words of an input, split on whitespace (spaces, tabs, newlines), with no globbing.
words() {
  local IFS=$' \t\n'
  set -f
  # shellcheck disable=SC2086 # splitting is the point
  printf '%s\n' $1
  set +f
}

install() {
  local version="${INPUT_VERSION:-}"
  if [ -z "$version" ]; then
    # The action's own version: the Cargo.toml of the ref the workflow used (`uses: …@v0.2.0`
    # installs v0.2.0; a commit SHA installs the release that commit declares).
    version=v$(sed -n 's/^version = "\(.*\)"$/\1/p' "$GITHUB_ACTION_PATH/Cargo.toml" | head -n 1)
    [ "$version" != v ] || die "cannot read the action's version from $GITHUB_ACTION_PATH/Cargo.toml: set the input version (such as v0.2.0)"
  fi
  case "$version" in v*) ;; *) version="v$version" ;; esac

  # Releases are downloaded from the repository the action was used from (`uses: NAME/REPO@…`),
  # or from this repository for a local `uses: ./`.
  local repo="${GITHUB_ACTION_REPOSITORY:-}"
  [ -n "$repo" ] || repo="${ACTION_REPOSITORY:-}"
  [ -n "$repo" ] || repo="$GITHUB_REPOSITORY"
  local base="${RECONCILE_DOWNLOAD_BASE:-${GITHUB_SERVER_URL:-https://github.com}/$repo/releases/download}"

  local dir="$RUNNER_TOOL_CACHE/reconcile/${version#v}/${RUNNER_ARCH:-unknown}"
  local exe=reconcile
  case "${RUNNER_OS:-}" in
    Windows)
      exe=reconcile.exe
      # The tool cache is a Windows path (C:\hostedtoolcache\…): the sh of Git for Windows
      # wants it in its own form.
      dir=$(cygpath -u "$dir")
      ;;
  esac
  if [ -x "$dir/$exe" ]; then
    echo "reconcile $version is in the tool cache: $dir"
  else
    RECONCILE_DOWNLOAD_BASE="$base" sh "$GITHUB_ACTION_PATH/scripts/install.sh" \
      --version "$version" --to "$dir"
  fi
  "$dir/$exe" --version
  # Later steps, in any shell, find `reconcile` on PATH (in the runner's own form of the path).
  if [ "${RUNNER_OS:-}" = Windows ]; then
    cygpath -w "$dir" >>"$GITHUB_PATH"
  else
    echo "$dir" >>"$GITHUB_PATH"
  fi
  echo "bin=$dir/$exe" >>"$GITHUB_OUTPUT"
}

# The pull request of this run, if any (pull_request and pull_request_target events).
pull_request_number() {
  [ -n "${GITHUB_EVENT_PATH:-}" ] && [ -f "$GITHUB_EVENT_PATH" ] || return 0
  jq -r '.pull_request.number // empty' "$GITHUB_EVENT_PATH"
}

# Post BODY_FILE on the pull request, or update the comment whose first line is the same marker.
upsert_comment() {
  local pr="$1" body_file="$2"
  local marker
  marker=$(head -n 1 "$body_file")
  local id
  id=$(MARKER="$marker" gh api --paginate "repos/$GITHUB_REPOSITORY/issues/$pr/comments" \
    --jq '.[] | select(.body | startswith(env.MARKER)) | .id' | tail -n 1) || return 1
  if [ -n "$id" ]; then
    gh api --silent --method PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F body=@"$body_file"
  else
    gh api --silent --method POST "repos/$GITHUB_REPOSITORY/issues/$pr/comments" -F body=@"$body_file"
  fi
}

# The account of the files, for the marker of an error comment (the plan's own marker is on the
# first line of the Markdown plan; a failed plan has none).
account_of() {
  if [ -n "${CLOUDFLARE_ACCOUNT_ID:-}" ]; then
    echo "$CLOUDFLARE_ACCOUNT_ID"
    return
  fi
  "$bin" validate ${files[@]+"${files[@]}"} 2>/dev/null | sed -n 's/.*(account \([0-9a-f]*\)).*/\1/p' | head -n 1
}

error_report() {
  local account="$1" stderr_file="$2"
  echo "<!-- reconcile:plan account=${account:-unknown} -->"
  echo "## reconcile $command: failed"
  echo
  echo "reconcile exited 1: nothing was planned or changed. Its error:"
  echo
  echo '~~~~text'
  # A fence that the error text cannot close, and at most 50,000 bytes of it.
  sed 's/^~~~~/ ~~~~/' "$stderr_file" | head -c 50000
  echo
  echo '~~~~'
  echo
  if [ -n "${GITHUB_RUN_ID:-}" ]; then
    echo "<sub>[The run's log](${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID)</sub>"
  fi
}

run() {
  command="${INPUT_COMMAND:-plan}"
  case "$command" in
    plan | apply | check) ;;
    *) die "the input command must be plan, apply or check, not '$command'" ;;
  esac
  bin="${RECONCILE_BIN:-reconcile}"

  files=()
  local f
  while IFS= read -r f; do
    [ -z "$f" ] || files+=(-f "$f")
  done < <(words "${INPUT_FILES:-}")
  local args=()
  local a
  while IFS= read -r a; do
    [ -z "$a" ] || args+=("$a")
  done < <(words "${INPUT_ARGS:-}")

  local plan_file="${INPUT_PLAN_FILE:-}"
  local work
  work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/reconcile.XXXXXX")
  local cmdline=("$bin" "$command")
  case "$command" in
    plan)
      [ -n "$plan_file" ] || plan_file=plan.json
      cmdline+=(${files[@]+"${files[@]}"} --format markdown --detailed-exitcode --out "$plan_file")
      ;;
    apply)
      if [ -n "$plan_file" ]; then
        [ -f "$plan_file" ] || die "the plan file '$plan_file' does not exist: download the reviewed plan first (see docs/ci.md)"
        cmdline+=("$plan_file")
      fi
      cmdline+=(${files[@]+"${files[@]}"})
      ;;
    check) cmdline+=(${files[@]+"${files[@]}"}) ;;
  esac
  cmdline+=(${args[@]+"${args[@]}"})
  echo "+ ${cmdline[*]}"

  # stdout: the Markdown plan for plan (shown in the log afterwards), the report otherwise.
  # stderr: shown as it comes, and kept for the error comment.
  local code=0
  if [ "$command" = plan ]; then
    "${cmdline[@]}" >"$work/out.md" 2> >(tee "$work/stderr" >&2) || code=$?
  else
    "${cmdline[@]}" 2> >(tee "$work/stderr" >&2) || code=$?
  fi
  wait "$!" 2>/dev/null || true
  [ "$command" != plan ] || cat "$work/out.md"

  local changes="" deletions=""
  case "$command" in
    plan)
      case "$code" in 0) changes=false ;; 2) changes=true ;; esac
      ;;
  esac
  if [ "$command" != check ] && [ -n "$plan_file" ] && [ -f "$plan_file" ] && [ "$code" != 1 ]; then
    deletions=$(jq '.plan.deletions | length' "$plan_file")
    [ "$command" = plan ] || { [ "$deletions" -gt 0 ] && changes=true || changes=false; }
  fi
  {
    echo "exitcode=$code"
    echo "changes=$changes"
    echo "deletions=$deletions"
    echo "plan-file=$plan_file"
  } >>"$GITHUB_OUTPUT"

  # The pull-request comment: the plan, or the error when there is none.
  local pr
  pr=$(pull_request_number)
  if [ "${INPUT_COMMENT:-true}" = true ] && [ -n "$pr" ] && [ "$command" != apply ]; then
    local body="$work/comment.md"
    if [ "$command" = plan ] && [ "$code" != 1 ]; then
      cp "$work/out.md" "$body"
    elif [ "$code" != 0 ]; then
      error_report "$(account_of)" "$work/stderr" >"$body"
      [ -z "${GITHUB_STEP_SUMMARY:-}" ] || cat "$body" >>"$GITHUB_STEP_SUMMARY"
    fi
    if [ -s "$body" ]; then
      GH_TOKEN="${INPUT_GITHUB_TOKEN:-}" upsert_comment "$pr" "$body" ||
        echo "::warning title=reconcile action::could not post the comment on pull request #$pr (a pull request from a fork gets a read-only token; the plan is in the job summary)"
    fi
  fi

  # A plan with changes (exit 2) is a success of the step; 1 (error) and 3 (apply incomplete) fail.
  case "$code" in
    0 | 2) [ "$command" = plan ] || [ "$code" = 0 ] || exit "$code" ;;
    *) exit "$code" ;;
  esac
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  *) die "usage: github-action.sh install|run" ;;
esac
