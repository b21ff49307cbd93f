//! `docker build --iidfile FILE`: once the image is built, the docker CLI writes its id
//! (`sha256:…`, no line break) to FILE. On ACR the CLI runs in a container whose working
//! directory is the step's (in `/workspace`), so a relative FILE lands in the workspace, where
//! later steps read it. taskrun writes it there too, through the engine (or into the volume a
//! step mount puts at that path). A FILE outside `/workspace` and the step's mounts is in the
//! CLI container's own filesystem on ACR, which no later step sees: it is not written, and the
//! step says so.

use crate::engine::{Engine, EngineError, tarball};
use crate::exec::step::StepContext;
use crate::exec::step::buildsecrets::place;
use crate::model::Step;
use crate::model::buildargs::BuildArgs;
use crate::model::buildpath::cli_path;

/// Writes `image_id` to the build's `--iidfile`, if it has one; returns a note for the step
/// when the file is out of every later step's sight.
pub(crate) async fn write<E: Engine>(
    ctx: &StepContext<E>,
    step: &Step,
    args: &BuildArgs,
    image_id: &str,
) -> Result<Option<String>, EngineError> {
    let Some(file) = &args.iidfile else {
        return Ok(None);
    };
    let abs = cli_path(step, args, file);
    let Some((volume, rel)) = place(ctx, step, &abs) else {
        return Ok(Some(format!(
            "--iidfile {file}: {abs} is outside /workspace and the step's volumes (on ACR, in \
             the build's own container), so no later step could read it; not written"
        )));
    };
    ctx.engine
        .put_into_volume(
            &volume,
            "",
            tarball::tar_of(&[(rel.as_str(), image_id.as_bytes())]),
        )
        .await?;
    Ok(None)
}
