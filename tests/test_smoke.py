from click.testing import CliRunner

from engine.cli.main import main


def test_example_policies_validate_clean():
    result = CliRunner().invoke(main, ["validate", "policies/"])
    assert result.exit_code == 0, result.output
    assert "0 errors, 0 warnings" in result.output
