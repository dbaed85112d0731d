import os
import shutil

import pytest
import soundfile

from emojax.data import ravdess

# A real recording of the sample: actor 05, happy, normal, "Dogs", take 2.
CLIP_ID = "01-01-03-01-01-02-05"


def _copy_sample(sample_dir, relative_path, destination):
  """Copies a real sample file to `destination` (folders made as needed)."""
  os.makedirs(os.path.dirname(destination), exist_ok=True)
  shutil.copy(sample_dir / relative_path, destination)
  return str(destination)


def test_parse_name_reads_every_field():
  name = ravdess.parse_name("data/Actor_05/03-02-06-02-01-02-05.flac")
  assert name == ravdess.ClipName(modality=3, vocal_channel=2, emotion=5,
                                  intensity=2, statement=1, repetition=2,
                                  actor=5)


def test_parse_name_emotion_is_zero_based_label():
  name = ravdess.parse_name("03-01-08-01-01-01-01.wav")
  assert name.emotion == 7
  assert name.emotion_name == "surprised"
  assert ravdess.EMOTIONS[0] == "neutral"


def test_clip_id_is_audio_video_form_shared_by_all_modalities():
  ids = {ravdess.parse_name(f"{modality}-01-03-01-01-02-05.mp4").clip_id
         for modality in ("01", "02", "03")}
  assert ids == {CLIP_ID}


@pytest.mark.parametrize("actor, gender", [(1, "male"), (5, "male"),
                                           (2, "female"), (24, "female")])
def test_gender_is_male_for_odd_actors_and_female_for_even(actor, gender):
  name = ravdess.parse_name(f"03-01-01-01-01-01-{actor:02d}.wav")
  assert name.gender == gender


@pytest.mark.parametrize("stem",
                         ["03-01-03-01-01-02", "03-01-03-01-01-02-05-07"])
def test_parse_name_rejects_wrong_field_count(stem):
  path = f"/data/Actor_05/{stem}.wav"
  with pytest.raises(ValueError, match="MM-VV-EE-II-SS-RR-AA") as error:
    ravdess.parse_name(path)
  assert path in str(error.value)


def test_parse_name_rejects_non_numeric_field():
  path = "/data/Actor_05/03-01-xx-01-01-02-05.flac"
  with pytest.raises(ValueError, match="two-digit") as error:
    ravdess.parse_name(path)
  assert path in str(error.value)


def test_parse_name_rejects_out_of_range_emotion():
  path = "/data/Actor_05/03-01-09-01-01-02-05.flac"
  with pytest.raises(ValueError, match="emotion must be 01-08") as error:
    ravdess.parse_name(path)
  assert path in str(error.value)


@pytest.mark.parametrize("stem, field", [
    ("04-01-03-01-01-02-05", "modality"),
    ("03-03-03-01-01-02-05", "vocal_channel"),
    ("03-01-00-01-01-02-05", "emotion"),
    ("03-01-03-03-01-02-05", "intensity"),
    ("03-01-03-01-03-02-05", "statement"),
    ("03-01-03-01-01-00-05", "repetition"),
    ("03-01-03-01-01-02-25", "actor"),
])
def test_parse_name_rejects_each_field_out_of_range(stem, field):
  with pytest.raises(ValueError, match=f"{field} must be"):
    ravdess.parse_name(f"{stem}.wav")


def test_scan_gives_actor05_clips_audio_and_face_crop_video(sample_dir):
  clips, skipped = ravdess.scan([str(sample_dir / "ravdess"),
                                 str(sample_dir / "ravdess_facecrops")])
  actor05 = [clip for clip in clips if clip.name.actor == 5]
  assert skipped == []
  assert len(clips) == 180
  assert len(actor05) == 60
  for clip in actor05:
    assert clip.audio_path.endswith(f"03{clip.clip_id[2:]}.flac")
    assert clip.video_path.endswith(f"{clip.clip_id}.avi")


def test_scan_gives_actor01_clips_audio_only(sample_dir):
  clips, _ = ravdess.scan([str(sample_dir / "ravdess"),
                           str(sample_dir / "ravdess_facecrops")])
  actor01 = [clip for clip in clips if clip.name.actor == 1]
  assert len(actor01) == 60
  assert all(clip.audio_path is not None for clip in actor01)
  assert all(clip.video_path is None for clip in actor01)


def test_scan_sorts_clips_by_id_and_names_them_in_audio_video_form(sample_dir):
  clips, _ = ravdess.scan([str(sample_dir / "ravdess")])
  ids = [clip.clip_id for clip in clips]
  assert ids == sorted(ids)
  assert {clip.name.modality for clip in clips} == {1}


def test_scan_takes_audio_from_03_file_over_mp4_in_any_root_order(sample_dir):
  for roots in (["ravdess_video", "ravdess"], ["ravdess", "ravdess_video"]):
    clips, _ = ravdess.scan([str(sample_dir / root) for root in roots])
    clip, = [clip for clip in clips if clip.clip_id == CLIP_ID]
    assert clip.audio_path == str(
        sample_dir / "ravdess/Actor_05/03-01-03-01-01-02-05.flac")


def test_scan_takes_audio_from_01_mp4_when_there_is_no_03_file(sample_dir):
  clips, _ = ravdess.scan([str(sample_dir / "ravdess_video")])
  mp4 = str(sample_dir / "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4")
  assert clips == [ravdess.Clip(ravdess.parse_name(mp4), mp4, mp4)]


def test_scan_takes_video_from_earlier_root(sample_dir):
  video_root = str(sample_dir / "ravdess_video")
  crops_root = str(sample_dir / "ravdess_facecrops")
  clips, _ = ravdess.scan([crops_root, video_root])
  clip, = [clip for clip in clips if clip.clip_id == CLIP_ID]
  assert clip.video_path.endswith(".avi")
  clips, _ = ravdess.scan([video_root, crops_root])
  clip, = [clip for clip in clips if clip.clip_id == CLIP_ID]
  assert clip.video_path.endswith("01-01-03-01-01-02-05.mp4")


def test_scan_takes_video_from_01_before_02_file(sample_dir, tmp_path):
  # Only the 02- (video-only) file first: then the 01- file as well.
  video_only = _copy_sample(
      sample_dir, "ravdess_video/Actor_05/02-01-03-01-01-02-05.mp4",
      tmp_path / "Actor_05/02-01-03-01-01-02-05.mp4")
  clips, _ = ravdess.scan([str(tmp_path)])
  assert clips[0].video_path == video_only
  assert clips[0].audio_path is None
  audio_video = _copy_sample(
      sample_dir, "ravdess_video/Actor_05/01-01-03-01-01-02-05.mp4",
      tmp_path / "Actor_05/01-01-03-01-01-02-05.mp4")
  clips, _ = ravdess.scan([str(tmp_path)])
  assert clips[0].video_path == audio_video


def test_scan_walks_release_zip_layout(sample_dir, tmp_path):
  path = _copy_sample(
      sample_dir, "ravdess/Actor_01/03-01-02-01-01-02-01.flac",
      tmp_path / "Audio_Speech_Actors_01-24/Actor_01/03-01-02-01-01-02-01.flac")
  clips, skipped = ravdess.scan([str(tmp_path)])
  assert skipped == []
  assert [(clip.clip_id, clip.audio_path) for clip in clips] == [
      ("01-01-02-01-01-02-01", path)]


def test_scan_reports_malformed_media_names_as_skipped(sample_dir, tmp_path):
  source = "ravdess/Actor_05/03-01-03-01-01-02-05.flac"
  bad_emotion = _copy_sample(sample_dir, source,
                             tmp_path / "Actor_05/03-01-09-01-01-02-05.flac")
  no_name = _copy_sample(sample_dir, source, tmp_path / "Actor_05/take1.FLAC")
  clips, skipped = ravdess.scan([str(tmp_path)])
  assert clips == []
  assert [item.file for item in skipped] == [bad_emotion, no_name]
  assert "emotion must be 01-08" in skipped[0].reason
  assert "MM-VV-EE-II-SS-RR-AA" in skipped[1].reason


def test_scan_reports_actor_folder_mismatch_as_skipped(sample_dir, tmp_path):
  path = _copy_sample(sample_dir, "ravdess/Actor_05/03-01-03-01-01-02-05.flac",
                      tmp_path / "Actor_01/03-01-03-01-01-02-05.flac")
  clips, skipped = ravdess.scan([str(tmp_path)])
  assert clips == []
  assert len(skipped) == 1
  assert skipped[0].file == path
  assert "actor 05" in skipped[0].reason
  assert "Actor_01" in skipped[0].reason


def test_scan_reports_modality_its_file_type_cannot_hold(sample_dir, tmp_path):
  # A 03- (audio only) name on a video file.
  path = _copy_sample(sample_dir,
                      "ravdess_video/Actor_05/02-01-03-01-01-02-05.mp4",
                      tmp_path / "Actor_05/03-01-03-01-01-02-05.mp4")
  clips, skipped = ravdess.scan([str(tmp_path)])
  assert clips == []
  assert [item.file for item in skipped] == [path]
  assert "modality 03" in skipped[0].reason


def test_scan_reports_a_wav_beside_the_flac_of_one_clip_as_a_duplicate(sample_dir, tmp_path):
  flac = _copy_sample(sample_dir, "ravdess/Actor_05/03-01-03-01-01-02-05.flac",
                      tmp_path / "Actor_05/03-01-03-01-01-02-05.flac")
  wav = str(tmp_path / "Actor_05/03-01-03-01-01-02-05.wav")
  soundfile.write(wav, *soundfile.read(flac))
  clips, skipped = ravdess.scan([str(tmp_path)])
  assert [clip.audio_path for clip in clips] == [flac]
  assert skipped == [ravdess.Skipped(wav, f"a duplicate of {flac}")]


def test_scan_reports_a_video_that_supplies_nothing_as_a_duplicate(sample_dir, tmp_path):
  # The 01- .avi wins the video over the 01- .mp4 beside it; the .mp4 is used
  # for its audio track until a 03- file supplies the audio.
  avi = _copy_sample(sample_dir, f"ravdess_facecrops/Actor_05/{CLIP_ID}.avi",
                     tmp_path / f"Actor_05/{CLIP_ID}.avi")
  mp4 = _copy_sample(sample_dir, f"ravdess_video/Actor_05/{CLIP_ID}.mp4",
                     tmp_path / f"Actor_05/{CLIP_ID}.mp4")
  assert ravdess.scan([str(tmp_path)]) == (
      [ravdess.Clip(ravdess.parse_name(avi), audio_path=mp4, video_path=avi)], [])
  flac = _copy_sample(sample_dir, "ravdess/Actor_05/03-01-03-01-01-02-05.flac",
                      tmp_path / "Actor_05/03-01-03-01-01-02-05.flac")
  assert ravdess.scan([str(tmp_path)]) == (
      [ravdess.Clip(ravdess.parse_name(avi), audio_path=flac, video_path=avi)],
      [ravdess.Skipped(mp4, f"a duplicate of {avi}")])


def test_scan_does_not_report_a_file_an_earlier_root_wins_over(sample_dir):
  clips, skipped = ravdess.scan([str(sample_dir / "ravdess"), str(sample_dir / "ravdess")])
  assert len(clips) == 180
  assert skipped == []


def test_scan_ignores_non_media_files(sample_dir, tmp_path):
  _copy_sample(sample_dir, "README.md", tmp_path / "README.md")
  _copy_sample(sample_dir, "ravdess_openface_au.csv",
               tmp_path / "Actor_05/ravdess_openface_au.csv")
  assert ravdess.scan([str(tmp_path)]) == ([], [])


def test_scan_raises_naming_a_missing_root(tmp_path):
  missing = str(tmp_path / "no_such_folder")
  with pytest.raises(FileNotFoundError, match="no_such_folder"):
    ravdess.scan([missing])


def test_scan_raises_naming_a_root_that_is_a_file(sample_dir):
  readme = str(sample_dir / "README.md")
  with pytest.raises(FileNotFoundError, match="README.md"):
    ravdess.scan([readme])
